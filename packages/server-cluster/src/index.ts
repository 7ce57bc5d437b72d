import { startServer, type RunningServer, type StartOptions, type Strategy } from '@fib/core';
import { createClusterEngine } from './lib/engine.js';

/**
 * Node's cluster module: --workers processes, each serving connections with
 * the event-loop server's framing and inline fib. The primary accepts every
 * connection and hands it to the least busy worker with an acknowledged
 * handoff, so that none is lost when a worker dies (see the README).
 */
export const strategy: Strategy = {
  name: 'cluster',
  description: 'Node cluster: the primary hands each connection to the least busy of --workers processes.',
  hasWorkerPool: true,
  create: createClusterEngine,
};

/**
 * Starts a cluster from the calling program, which becomes the primary. The
 * workers run this package's own worker entry, not the caller's script.
 */
export function start(options?: StartOptions): Promise<RunningServer> {
  return startServer(strategy, options);
}
