import { inlineSession, startServer, type RunningServer, type StartOptions, type Strategy } from '@fib/core';

/**
 * The event-loop strategy (the original's asyncio server): one thread reads
 * every socket and computes fib inline. Fast for cheap requests, and every
 * client waits while one of them asks for an expensive one.
 */
export const strategy: Strategy = {
  name: 'async',
  description: 'One event loop; fib is computed inline, so one slow request delays every client.',
  hasWorkerPool: false,
  create: () => ({ open: () => inlineSession, close: async () => {} }),
};

export function start(options?: StartOptions): Promise<RunningServer> {
  return startServer(strategy, options);
}
