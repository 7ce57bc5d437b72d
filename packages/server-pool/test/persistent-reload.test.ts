import test from 'ava';
import {
  checkPersistentReloads,
  metricsUrl,
  reloadsUnderPersistentLoad,
  sample,
  scrape,
  serverStarter,
} from '@fib/testkit';

const startServer = serverStarter(test, '@fib/server-pool', 'fib-server-pool');

// The connections live on the main thread: a reload only changes where their jobs run.
test('SIGHUP three times under persistent clients: none loses a request, every answer right, six threads replaced', async (t) => {
  const server = await startServer(['--workers', '2', '--metrics-port', '0']);
  const url = await metricsUrl(server);
  checkPersistentReloads(t, await reloadsUnderPersistentLoad(server, 3));
  const text = await scrape(url);
  t.is(sample(text, 'fib_worker_restarts_total'), 6);
  t.is(sample(text, 'fib_workers'), 2);
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});
