import test from 'ava';
import { FibClient } from '@fib/protocol';
import { descendants, isAlive, RawClient, serverStarter, until, waitGone } from '@fib/testkit';

const startFork = serverStarter(test, '@fib/server-fork', 'fib-server-fork');

test('one child process per connection, gone when its client leaves', async (t) => {
  const server = await startFork();
  t.deepEqual(descendants(server.pid), []);
  const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(server.port)));
  for (const client of clients) t.is(await client.ask('10'), '55');
  const children = descendants(server.pid);
  t.is(children.length, 3);

  clients[0]!.end();
  await clients[0]!.closed;
  await until(() => descendants(server.pid).length === 2, 'the first child exited');
  const left = descendants(server.pid);
  t.true(
    left.every((pid) => children.includes(pid)),
    'the other two children are the same processes',
  );
  t.is(await clients[1]!.ask('12'), '144');

  // A new connection gets a new process, never a reused one.
  const fourth = await RawClient.connect(server.port);
  t.is(await fourth.ask('1'), '1');
  const now = descendants(server.pid);
  t.is(now.length, 3);
  t.is(now.filter((pid) => !children.includes(pid)).length, 1);

  for (const client of [clients[1]!, clients[2]!, fourth]) client.end();
  await until(() => descendants(server.pid).length === 0, 'every child exited');
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});

test('a child killed with SIGKILL under load cuts off only its own client', async (t) => {
  const server = await startFork();
  const clients = await Promise.all([0, 1, 2, 3].map(() => FibClient.connect({ port: server.port })));
  // Learn which child serves which client: connections are handed over in
  // accept order, so compare the child list before and after each connect.
  await Promise.all(clients.map((client) => client.fib(1)));
  const children = descendants(server.pid);
  t.is(children.length, 4);

  const results = clients.map(() => ({ ok: 0, failed: false }));
  let stop = false;
  const loops = clients.map(async (client, i) => {
    // Bounded: at most 2000 requests per client, and stops once told to.
    for (let round = 0; round < 2000 && !stop; round++) {
      try {
        t.is(await client.fib(15), 610);
        results[i]!.ok++;
      } catch {
        results[i]!.failed = true;
        return;
      }
    }
  });
  await until(() => results.every((r) => r.ok >= 10), 'every client got answers');
  const victim = children[0]!;
  process.kill(victim, 'SIGKILL');
  await until(() => results.filter((r) => r.failed).length === 1, 'one client was cut off');
  await waitGone([victim]);
  // The others keep being served after the kill.
  const before = results.map((r) => r.ok);
  await until(() => results.every((r, i) => r.failed || r.ok >= before[i]! + 10), 'the others are still served');
  stop = true;
  await Promise.all(loops);
  t.is(results.filter((r) => r.failed).length, 1);
  t.true(children.slice(1).every(isAlive));

  const late = await FibClient.connect({ port: server.port });
  t.is(await late.fib(20), 6765);
  await late.close();
  await Promise.all(clients.map((client) => client.close()));
  t.deepEqual(await server.stop(), { code: 0, signal: null });
  await waitGone(children);
});

test('children exit when the parent is killed with SIGKILL, even one stuck in a long fib', async (t) => {
  const server = await startFork(['--max-n', '50']);
  const clients = await Promise.all([0, 1, 2].map(() => RawClient.connect(server.port)));
  for (const client of clients) t.is(await client.ask('5'), '5');
  // One child busy computing when its parent dies: fib(48) takes minutes.
  await clients[0]!.write('48\n');
  const children = descendants(server.pid);
  t.is(children.length, 3);
  t.deepEqual(await server.stop('SIGKILL'), { code: null, signal: 'SIGKILL' });
  await waitGone(children);
  for (const client of clients) client.destroy();
  t.pass();
});

test('graceful shutdown: a child finishes its request; one still computing at --shutdown-timeout is killed', async (t) => {
  const server = await startFork(['--max-n', '50', '--shutdown-timeout', '0.5']);
  const quick = await RawClient.connect(server.port);
  const slow = await RawClient.connect(server.port);
  t.is(await quick.ask('1'), '1');
  t.is(await slow.ask('1'), '1');
  await quick.write('30\n');
  // fib(48) takes minutes: it cannot finish within the half second.
  await slow.write('48\n');
  const children = descendants(server.pid);
  t.is(children.length, 2);
  const exit = server.stop('SIGTERM');
  t.is(await quick.line(), '832040');
  t.is(await quick.line(), null, 'the drained connection is closed');
  t.deepEqual(await exit, { code: 1, signal: null });
  t.is(await slow.line(), null, 'the cut-off connection is closed without an answer');
  await waitGone(children);
});
