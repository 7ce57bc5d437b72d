import { startServer, type RunningServer, type StartOptions, type Strategy } from '@fib/core';
import { createProcessPoolEngine } from './lib/engine.js';

/**
 * The process-pool strategy (the original's ProcessPoolExecutor): a tinypool
 * pool of `--workers` child processes kept alive for the server's lifetime;
 * each request is `await pool.run(n)`. Every core computes, and every request
 * pays an IPC round trip to a child and back.
 */
export const strategy: Strategy = {
  name: 'process-pool',
  description: 'A tinypool pool of child processes; each request is await pool.run(n) on one of them.',
  hasWorkerPool: true,
  dispatchesToWorkers: true,
  create: createProcessPoolEngine,
};

export function start(options?: StartOptions): Promise<RunningServer> {
  return startServer(strategy, options);
}
