import test from 'ava';
import { metricsUrl, reloadUnderLoad, sample, scrape, serverStarter } from '@fib/testkit';

const startServer = serverStarter(test, '@fib/server-pool', 'fib-server-pool');

test('SIGHUP recycles the pool under load: no request lost, connections kept, two threads replaced', async (t) => {
  const server = await startServer(['--workers', '2', '--metrics-port', '0']);
  const url = await metricsUrl(server);
  const { tally, clients } = await reloadUnderLoad(server);
  t.log(tally);
  t.is(tally.wrong, 0);
  t.regex(server.stderr(), /reload done in \d+\.\d+ s: 2 workers replaced/);
  const text = await scrape(url);
  t.is(sample(text, 'fib_worker_restarts_total'), 2);
  t.is(sample(text, 'fib_workers'), 2);
  for (const client of clients) client.end();
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});
