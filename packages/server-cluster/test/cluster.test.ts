import test from 'ava';
import { readFileSync } from 'node:fs';
import { FibClient } from '@fib/protocol';
import {
  connectionOwners,
  descendants,
  isAlive,
  RawClient,
  serverStarter,
  type ServerRun,
  until,
  untilOneComputes,
  waitGone,
} from '@fib/testkit';
import { start } from '@fib/server-cluster';

const startServer = serverStarter(test, '@fib/server-cluster', 'fib-server-cluster');
const startCluster = (args: string[] = [], workers = 2) => startServer(['--workers', String(workers), ...args]);

/** The direct children of `pid` that run the cluster's worker entry. */
const workersOf = (server: ServerRun | number) => {
  const parent = typeof server === 'number' ? server : server.pid;
  return descendants(parent).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === parent && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('server-cluster/dist/worker.js');
    } catch {
      return false;
    }
  });
};

test('--workers processes run the worker entry, all on the one port the ready line names', async (t) => {
  const server = await startCluster([], 3);
  await until(() => workersOf(server).length === 3, 'three workers run');
  t.is(descendants(server.pid).length, 3, 'nothing but the workers');
  t.regex(server.stdout(), /^fib-server-cluster listening on 127\.0\.0\.1:\d+\n$/, 'one ready line');
  // The primary spreads connections over the workers; a fib(25) each at
  // once is answered by all of them.
  const clients = await Promise.all(Array.from({ length: 6 }, () => FibClient.connect({ port: server.port })));
  t.deepEqual(
    await Promise.all(clients.map((c) => c.fib(25))),
    clients.map(() => 75025),
  );
  await Promise.all(clients.map((c) => c.close()));
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});

test('a worker killed with SIGKILL under load cuts off only its clients and is replaced on the same port', async (t) => {
  const server = await startCluster();
  await until(() => workersOf(server).length === 2, 'two workers run');
  const workers = workersOf(server);
  // Ask the kernel which worker holds each connection, and connect (bounded)
  // until both do.
  const clients: RawClient[] = [];
  let owners = new Map<number, number>();
  const ownerOf = (client: RawClient) => owners.get(client.socket.localPort!);
  while (
    clients.length < 16 &&
    !(clients.some((c) => ownerOf(c) === workers[0]) && clients.some((c) => ownerOf(c) === workers[1]))
  ) {
    const client = await RawClient.connect(server.port);
    t.is(await client.ask('1'), '1');
    clients.push(client);
    owners = connectionOwners(server.port, workers);
  }
  t.true(
    clients.every((c) => workers.includes(ownerOf(c)!)),
    'every connection is held by a worker',
  );
  const onDead = clients.map((c) => ownerOf(c) === workers[0]);
  t.true(onDead.includes(true) && onDead.includes(false), 'both workers hold connections');
  const results = clients.map(() => ({ ok: 0, failed: false }));
  let stop = false;
  const loops = clients.map(async (client, i) => {
    // Bounded: at most 5000 requests per client, and stops once told to.
    for (let round = 0; round < 5000 && !stop; round++) {
      const answer = await client.ask('12').catch(() => null);
      if (answer === null) {
        results[i]!.failed = true;
        return;
      }
      t.is(answer, '144');
      results[i]!.ok++;
    }
  });
  await until(() => results.every((r) => r.ok >= 10), 'every client got answers');
  process.kill(workers[0]!, 'SIGKILL');
  const cutOff = onDead.filter(Boolean).length;
  await until(() => results.filter((r) => r.failed).length === cutOff, "the dead worker's clients were cut off");
  const before = results.map((r) => r.ok);
  await until(() => results.every((r, i) => r.failed || r.ok >= before[i]! + 10), 'the other clients are still served');
  stop = true;
  await Promise.all(loops);
  t.deepEqual(
    results.map((r) => r.failed),
    onDead,
    "exactly the dead worker's clients were cut off",
  );
  t.true(isAlive(workers[1]!));

  await until(
    () => workersOf(server).length === 2 && !workersOf(server).includes(workers[0]!),
    'the dead worker was replaced',
  );
  t.regex(server.stderr(), new RegExp(`worker ${workers[0]} died \\(SIGKILL\\); replacing it`));
  for (const client of clients) client.end();
  // The replacement serves on the same port: connections reach both workers.
  const fresh = await Promise.all([0, 1, 2, 3].map(() => FibClient.connect({ port: server.port })));
  t.deepEqual(await Promise.all(fresh.map((c) => c.fib(20))), [6765, 6765, 6765, 6765]);
  await Promise.all(fresh.map((c) => c.close()));
  const all = workersOf(server);
  t.deepEqual(await server.stop(), { code: 0, signal: null });
  await waitGone(all);
});

test('while every worker is being replaced, new connections wait and are served, none refused', async (t) => {
  const server = await startCluster();
  await until(() => workersOf(server).length === 2, 'two workers run');
  const first = workersOf(server);
  for (const pid of first) process.kill(pid, 'SIGKILL');
  // The primary holds the port: the connection is accepted at once and
  // waits, unread, for a replacement.
  const clients = await Promise.all([0, 1, 2].map(() => FibClient.connect({ port: server.port })));
  t.deepEqual(await Promise.all(clients.map((c) => c.fib(10))), [55, 55, 55]);
  t.true(
    workersOf(server).every((pid) => !first.includes(pid)),
    'served by the replacements',
  );
  await Promise.all(clients.map((c) => c.close()));
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});

test('a connection handed to a worker that dies before taking it is served by another', async (t) => {
  const server = await startCluster(['--max-n', '50'], 1);
  await until(() => workersOf(server).length === 1, 'the worker runs');
  const [worker] = workersOf(server);
  const busy = await RawClient.connect(server.port);
  t.is(await busy.ask('1'), '1');
  // fib(45) keeps the one worker's event loop blocked for seconds: the next
  // connection is handed to it but cannot be acknowledged.
  await busy.write('45\n');
  await untilOneComputes([worker!], 'the worker computes fib(45)');
  const late = await RawClient.connect(server.port);
  await late.write('20\n');
  process.kill(worker!, 'SIGKILL');
  t.is(await late.line(), '6765', 'answered by the replacement');
  t.is(await busy.line(), null, "the dead worker's own connection was cut");
  late.end();
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});

test('workers exit when the primary is killed with SIGKILL, even one stuck in a long fib', async (t) => {
  const server = await startCluster(['--max-n', '50']);
  await until(() => workersOf(server).length === 2, 'two workers run');
  const workers = workersOf(server);
  const client = await RawClient.connect(server.port);
  t.is(await client.ask('5'), '5');
  // fib(48) takes minutes: the worker's event loop is blocked when the primary dies.
  await client.write('48\n');
  t.deepEqual(await server.stop('SIGKILL'), { code: null, signal: 'SIGKILL' });
  await waitGone(workers);
  client.destroy();
});

test('SIGTERM drains every worker; a request still computing at --shutdown-timeout is cut off, exit 1', async (t) => {
  const server = await startCluster(['--max-n', '50', '--shutdown-timeout', '0.5']);
  await until(() => workersOf(server).length === 2, 'two workers run');
  const workers = workersOf(server);
  const quick = await RawClient.connect(server.port);
  const slow = await RawClient.connect(server.port);
  t.is(await quick.ask('1'), '1');
  t.is(await slow.ask('1'), '1');
  await quick.write('30\n');
  // fib(48) takes minutes: it cannot finish within the half second.
  await slow.write('48\n');
  const exit = server.stop('SIGTERM');
  t.is(await quick.line(), '832040');
  t.is(await quick.line(), null, 'the drained connection is closed');
  t.is(await slow.line(), null, 'the cut-off connection is closed without an answer');
  t.deepEqual(await exit, { code: 1, signal: null });
  await waitGone(workers);
});

test("library start() forks the package's worker entry, not the calling script, and close() leaves no worker", async (t) => {
  const server = await start({ port: 0, workers: 2 });
  // Other tests of this file run servers too, as grandchildren: only our own children count.
  const workers = workersOf(process.pid);
  try {
    t.is(workers.length, 2);
    const client = await FibClient.connect({ port: server.address.port });
    t.is(await client.fib(22), 17711);
    await client.close();
  } finally {
    await server.close();
  }
  await waitGone(workers);
});

test('--max-connections counts the whole server, whichever worker holds each connection', async (t) => {
  const server = await startCluster(['--max-connections', '4']);
  const clients: RawClient[] = [];
  for (let i = 0; i < 4; i++) {
    const client = await RawClient.connect(server.port);
    t.is(await client.ask('7'), '13');
    clients.push(client);
  }
  const fifth = await RawClient.connect(server.port);
  t.regex((await fifth.line())!, /^ERR busy /);
  clients.pop()!.end();
  // Its slot comes back once the worker says the connection is over (bounded retries).
  let answer: string | null = null;
  for (let attempt = 0; attempt < 100 && answer !== '13'; attempt++) {
    const again = await RawClient.connect(server.port);
    answer = await again.ask('7').catch(() => null);
    again.destroy();
    if (answer !== '13') await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.is(answer, '13', 'a slot is free again');
  for (const client of clients) client.end();
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});
