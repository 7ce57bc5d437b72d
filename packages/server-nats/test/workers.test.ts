// What every strategy with worker processes must do (@fib/testkit's suite),
// checked on fib-server-nats's local workers. The servers share one
// nats-server (FIB_NATS), so that the server's children are its workers
// only, each with a private queue, so that its jobs go to its own workers.
import './helpers/reap.js';
import test from 'ava';
import { workerProcessSuite } from '@fib/testkit';
import { natsStarter } from './helpers/nats-servers.js';

const nats = natsStarter(test);
test.before(async () => {
  process.env.FIB_NATS = (await nats.single()).url;
  // A queue of each server's own: the tests run at once, and a server's jobs must go to its own workers.
  process.env.FIB_QUEUE = 'private';
});

workerProcessSuite(test, { pkg: '@fib/server-nats', bin: 'fib-server-nats', childEntry: 'dist/worker.js' });
