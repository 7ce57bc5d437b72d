import test from 'ava';
import { metricsUrl, RawClient, sample, scrape, serverStarter, until } from '@fib/testkit';

const startServer = serverStarter(test, '@fib/server-pool', 'fib-server-pool');

/** Persistent clients asking in a loop: a pool reload must not be seen by them. */
const CLIENTS = 3;
/** Bound of each client's loop. */
const MAX_REQUESTS = 50_000;

test('SIGHUP recycles the pool under load: no request lost, connections kept, two threads replaced', async (t) => {
  const server = await startServer(['--workers', '2', '--metrics-port', '0']);
  const url = await metricsUrl(server);
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => RawClient.connect(server.port)));
  const tally = { answered: 0, wrong: 0 };
  let stop = false;
  const loops = clients.map(async (client) => {
    for (let i = 0; i < MAX_REQUESTS && !stop; i++) {
      const answer = await client.ask('15').catch(() => null);
      if (answer === '610') tally.answered++;
      else {
        tally.wrong++;
        return;
      }
    }
  });
  await until(() => tally.answered >= 100, 'the load is running');
  server.child.kill('SIGHUP');
  await until(() => /reload done/.test(server.stderr()), 'the reload is done');
  const atReload = tally.answered;
  await until(() => tally.answered >= atReload + 100 || tally.wrong > 0, 'the new pool serves');
  stop = true;
  await Promise.all(loops);
  t.log(tally);
  t.is(tally.wrong, 0);
  t.regex(server.stderr(), /reload done in \d+\.\d+ s: 2 workers replaced/);
  const text = await scrape(url);
  t.is(sample(text, 'fib_worker_restarts_total'), 2);
  t.is(sample(text, 'fib_workers'), 2);
  for (const client of clients) client.end();
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});
