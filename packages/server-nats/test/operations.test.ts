// Metrics, logs, SIGHUP and readiness (@fib/testkit's operations suite) on
// fib-server-nats with two local workers. The servers share one nats-server
// (FIB_NATS), as a deployment's front-ends do.
import test from 'ava';
import { operationsSuite } from '@fib/testkit';
import { natsStarter } from './helpers/nats-servers.js';

const nats = natsStarter(test);
test.before(async () => {
  process.env.FIB_NATS = (await nats.single()).url;
});

operationsSuite(test, {
  pkg: '@fib/server-nats',
  bin: 'fib-server-nats',
  args: ['--workers', '2'],
  strategy: 'nats',
  workers: 2,
});
