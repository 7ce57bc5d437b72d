// Metrics, logs, SIGHUP and readiness (@fib/testkit's operations suite) on
// fib-server-nats with two local workers. The servers share one nats-server
// (FIB_NATS), each with a private queue for its own workers.
import './helpers/reap.js';
import test from 'ava';
import { operationsSuite } from '@fib/testkit';
import { natsStarter } from './helpers/nats-servers.js';

const nats = natsStarter(test);
test.before(async () => {
  process.env.FIB_NATS = (await nats.single()).url;
  // A queue of each server's own: the tests run at once, and a server's jobs must go to its own workers.
  process.env.FIB_QUEUE = 'private';
});

operationsSuite(test, {
  pkg: '@fib/server-nats',
  bin: 'fib-server-nats',
  args: ['--workers', '2'],
  strategy: 'nats',
  workers: 2,
});
