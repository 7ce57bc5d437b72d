import { startServer, type RunningServer, type StartOptions, type Strategy } from '@fib/core';
import { createPoolEngine } from './lib/engine.js';

/**
 * The thread-pool strategy (the original's ProcessPoolExecutor server, with
 * threads that really run in parallel): each request is `await pool.run(n)`
 * on a piscina pool of `--workers` worker threads.
 */
export const strategy: Strategy = {
  name: 'pool',
  description: 'A piscina pool of --workers threads; each request is await pool.run(n).',
  hasWorkerPool: true,
  dispatchesToWorkers: true,
  create: createPoolEngine,
};

export function start(options?: StartOptions): Promise<RunningServer> {
  return startServer(strategy, options);
}
