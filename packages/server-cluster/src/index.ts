import { resolveOptions, type RunningServer, type ServerProgram, type StartOptions } from '@fib/core';
import { startCluster } from './lib/primary.js';

export { KILL_GRACE_MS, split } from './lib/primary.js';

/**
 * Node's cluster module: --workers processes, each running the event-loop
 * server of @fib/server-async, on one shared port. Not a Strategy: the
 * primary serves no connection itself, it runs and replaces the workers.
 */
export const program: ServerProgram = {
  name: 'cluster',
  description: 'Node cluster: --workers processes run the event-loop server on one shared port.',
  hasWorkerPool: true,
  start: startCluster,
};

/**
 * Starts a cluster from the calling program, which becomes the primary. The
 * workers run this package's own worker entry, not the caller's script.
 */
export async function start(options?: StartOptions): Promise<RunningServer> {
  return startCluster(resolveOptions(options, program));
}
