import test from 'ava';
import {
  checkPersistentReloads,
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
  const run = await reloadsUnderPersistentLoad(server, 3, () => generations.push(descendants(server.pid)));
  checkPersistentReloads(t, run, { generations, size: 2 });
  t.is(server.stderr().match(/reload done in \d+\.\d+ s: 2 workers replaced/g)?.length, 3);
  const text = await scrape(url);
  t.is(sample(text, 'fib_worker_restarts_total'), 6);
  t.is(sample(text, 'fib_workers'), 2);
  t.notRegex(server.stderr(), /failed/, 'no process death reported');
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});
