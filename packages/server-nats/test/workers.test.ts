// What every strategy with worker processes must do (@fib/testkit's suite),
// checked on fib-server-nats's local workers. The servers share one
// nats-server (FIB_NATS), so that the server's children are its workers only.
import test from 'ava';
import { workerProcessSuite } from '@fib/testkit';
import { natsStarter } from './helpers/nats-servers.js';

const nats = natsStarter(test);
test.before(async () => {
  process.env.FIB_NATS = (await nats.single()).url;
});

workerProcessSuite(test, { pkg: '@fib/server-nats', bin: 'fib-server-nats', childEntry: 'dist/worker.js' });
