import { inlineSession, startServer, type RunningServer, type StartOptions, type Strategy } from '@fib/core';

/**
 * The sequential strategy (the original's server.py): one connection is
 * served at a time, fib inline; later connections wait, unread, until it closes.
 */
export const strategy: Strategy = {
  name: 'sequential',
  description: 'One connection at a time; the next waits, unread, until the current one closes.',
  hasWorkerPool: false,
  create: () => ({ concurrency: 1, open: () => inlineSession, close: async () => {} }),
};

export function start(options?: StartOptions): Promise<RunningServer> {
  return startServer(strategy, options);
}
