import test from 'ava';
import {
  descendants,
  metricsUrl,
  reloadsUnderPersistentLoad,
  sample,
  scrape,
  serverStarter,
  until,
} from '@fib/testkit';

const startServer = serverStarter(test, '@fib/server-process-pool', 'fib-server-process-pool');

test('SIGHUP three times under persistent clients: none loses a request, every process new each time', async (t) => {
  const server = await startServer(['--workers', '2', '--metrics-port', '0']);
  const url = await metricsUrl(server);
  await until(() => descendants(server.pid).length === 2, 'two pool processes run');
  const generations = [descendants(server.pid)];
  const { tally, clients } = await reloadsUnderPersistentLoad(server, 3, () =>
    generations.push(descendants(server.pid)),
  );
  t.log(tally);
  t.is(tally.lost, 0);
  t.is(tally.wrong, 0);
  t.is(server.stderr().match(/reload done in \d+\.\d+ s: 2 workers replaced/g)?.length, 3);
  for (let i = 1; i < generations.length; i++) {
    t.is(generations[i]!.length, 2, `reload ${i}: the old pool is gone, the new one runs`);
    t.false(
      generations[i]!.some((pid) => generations[i - 1]!.includes(pid)),
      `reload ${i}: every process pid is new`,
    );
  }
  const text = await scrape(url);
  t.is(sample(text, 'fib_worker_restarts_total'), 6);
  t.is(sample(text, 'fib_workers'), 2);
  t.false(
    clients.some((client) => client.ended),
    'every client kept its connection',
  );
  t.notRegex(server.stderr(), /failed/, 'no process death reported');
  for (const client of clients) client.end();
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});
