import cluster from 'node:cluster';
import { envelope, fib, serveHandedSockets } from '@fib/core/worker';
import type { Busy, Idle } from './lib/messages.js';

/** From here a computation blocks the loop for 0.1 s or more (fib(35) on this machine). */
const LONG_FROM_N = 35;
const BUSY: Busy = envelope('busy');
const IDLE: Idle = envelope('idle');

// A cluster worker: serves, with the event-loop server's framing and inline
// fib, the connections the primary hands it; says when a long fib blocks its
// loop, so that the primary hands new connections elsewhere meanwhile.
await serveHandedSockets({
  entry: '@fib/server-cluster/dist/worker.js',
  expected: cluster.isWorker,
  session: {
    compute(n) {
      if (n < LONG_FROM_N) return fib(n);
      process.send!(BUSY);
      const value = fib(n);
      process.send!(IDLE);
      return value;
    },
    close() {},
  },
});
