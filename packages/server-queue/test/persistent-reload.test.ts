import test from 'ava';
import { descendants, reloadsUnderPersistentLoad, serverStarter, until } from '@fib/testkit';

const startServer = serverStarter(test, '@fib/server-queue', 'fib-server-queue');

// The connections live in the primary: a reload only changes where their jobs run.
test('SIGHUP three times under persistent clients: none loses a request, every answer right, every worker new', async (t) => {
  const server = await startServer(['--workers', '2']);
  await until(() => descendants(server.pid).length === 2, 'two workers run');
  const generations = [descendants(server.pid)];
  const { tally, clients } = await reloadsUnderPersistentLoad(server, 3, () =>
    generations.push(descendants(server.pid)),
  );
  t.log(tally);
  t.is(tally.lost, 0);
  t.is(tally.wrong, 0);
  for (let i = 1; i < generations.length; i++) {
    t.is(generations[i]!.length, 2);
    t.false(
      generations[i]!.some((pid) => generations[i - 1]!.includes(pid)),
      `reload ${i}: every worker pid is new`,
    );
  }
  t.false(
    clients.some((client) => client.ended),
    'every client kept its connection',
  );
  for (const client of clients) client.end();
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});
