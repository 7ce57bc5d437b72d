import './helpers/reap.js';
import test from 'ava';
import { conformance } from '@fib/testkit';
import { natsStarter } from './helpers/nats-servers.js';

// The suite starts many servers at once: they share one nats-server
// (FIB_NATS, read by the bin like --nats), so that a loaded 2-core machine
// starts them in time, each with a private queue for its own workers. The embedded default
// is covered by embedded.test.ts, and by the library API test below, which
// passes no NATS URL.
const nats = natsStarter(test);
test.before(async () => {
  process.env.FIB_NATS = (await nats.single()).url;
  // A queue of each server's own: the tests run at once, and a server's jobs must go to its own workers.
  process.env.FIB_QUEUE = 'private';
});

conformance(test, {
  pkg: '@fib/server-nats',
  bin: 'fib-server-nats',
  // One local worker: the suite starts many servers at once, and it checks the protocol, not the pool.
  args: ['--workers', '1'],
  hasWorkerPool: true,
  minWorkers: 0,
});
