import { startServer, type RunningServer, type StartOptions, type Strategy } from '@fib/core';
import { createThreadEngine } from './lib/engine.js';

/**
 * Each open connection holds a thread of its own, about 8 MiB of RSS here
 * (measured, see README): 1000 bounds the worst case near 8 GiB, where the
 * general default of 10000 (docs/cli.md) would allow 80.
 */
const DEFAULT_MAX_CONNECTIONS = 1000;

/**
 * The thread-per-connection strategy (the original's threaded server, minus
 * the GIL): each connection gets a worker_threads Worker of its own, so
 * requests of different connections run in parallel on every core.
 */
export const strategy: Strategy = {
  name: 'thread',
  description: 'A worker_threads Worker per connection, started when it opens and ended when it closes.',
  hasWorkerPool: false,
  dispatchesToWorkers: true,
  defaults: { maxConnections: DEFAULT_MAX_CONNECTIONS },
  create: createThreadEngine,
};

export function start(options?: StartOptions): Promise<RunningServer> {
  return startServer(strategy, options);
}
