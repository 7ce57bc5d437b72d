import { startServer, type RunningServer, type StartOptions, type Strategy } from '@fib/core';
import { createForkEngine } from './lib/engine.js';

export { KILL_GRACE_MS } from './lib/engine.js';

/**
 * Default --max-connections: every connection costs a whole Node process.
 * MEASURED_PLACEHOLDER
 */
export const DEFAULT_MAX_CONNECTIONS = 256;

/**
 * The process-per-connection strategy (the original's server_with_multiprocess.py):
 * the parent accepts and hands each socket to a freshly forked child, which
 * serves that client until it leaves, then exits.
 */
export const strategy: Strategy = {
  name: 'fork',
  description: 'A forked child process per connection; the socket itself is handed to the child.',
  usesWorkers: false,
  defaults: { maxConnections: DEFAULT_MAX_CONNECTIONS },
  create: (options) => createForkEngine(options),
};

export function start(options?: StartOptions): Promise<RunningServer> {
  return startServer(strategy, options);
}
