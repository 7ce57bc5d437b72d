import { startServer, type RunningServer, type StartOptions, type Strategy } from '@fib/core';
import { createThreadEngine } from './lib/engine.js';

/**
 * The thread-per-connection strategy (the original's threaded server, minus
 * the GIL): each connection gets a worker_threads Worker of its own, so
 * requests of different connections run in parallel on every core.
 */
export const strategy: Strategy = {
  name: 'thread',
  description: 'A worker_threads Worker per connection, started when it opens and ended when it closes.',
  usesWorkers: false,
  create: createThreadEngine,
};

export function start(options?: StartOptions): Promise<RunningServer> {
  return startServer(strategy, options);
}
