import test from 'ava';
import { conformance } from '@fib/testkit';
import { natsStarter } from './helpers/nats-servers.js';

// The suite starts many servers at once: they share one nats-server, as
// front-ends of one deployment do (FIB_NATS, read by the bin like --nats),
// so that a loaded 2-core machine starts them in time. The embedded default
// is covered by embedded.test.ts, and by the library API test below, which
// passes no NATS URL.
const nats = natsStarter(test);
test.before(async () => {
  process.env.FIB_NATS = (await nats.single()).url;
});

conformance(test, {
  pkg: '@fib/server-nats',
  bin: 'fib-server-nats',
  args: ['--workers', '2'],
  hasWorkerPool: true,
  minWorkers: 0,
});
