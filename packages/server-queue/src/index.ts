import { startServer, type RunningServer, type StartOptions, type Strategy } from '@fib/core';
import { createQueueEngine } from './lib/engine.js';

/**
 * The work-queue strategy (the original's multiprocessing.Queue server):
 * `--workers` forked processes; the parent keeps one queue of jobs, and a
 * worker that is idle is sent the next one (producer/consumer).
 */
export const strategy: Strategy = {
  name: 'queue',
  description: 'Forked worker processes pull jobs from one queue kept by the server (producer/consumer).',
  hasWorkerPool: true,
  dispatchesToWorkers: true,
  create: createQueueEngine,
};

export function start(options?: StartOptions): Promise<RunningServer> {
  return startServer(strategy, options);
}
