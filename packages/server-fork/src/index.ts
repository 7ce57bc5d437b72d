import { startServer, type RunningServer, type StartOptions, type Strategy } from '@fib/core';
import { createForkEngine } from './lib/engine.js';

/**
 * Default --max-connections: every connection costs a whole Node process.
 * Measured on Node 20 (bench/measure.mjs): a serving child shows 44 MiB RSS,
 * but most of it is the node binary's pages, shared by all children; what each
 * one adds is ~8 MiB private (PSS ~9.3 MiB). 512 children are ~5 GiB, which
 * fits a 8 GiB machine beside the rest, and stay far below the usual process
 * limits (ulimit -u, pid_max 32768). More connections than that want another
 * strategy, not a bigger number.
 */
export const DEFAULT_MAX_CONNECTIONS = 512;

/**
 * The process-per-connection strategy (the original's server_with_multiprocess.py):
 * the parent accepts and hands each socket to a freshly forked child, which
 * serves that client until it leaves, then exits.
 */
export const strategy: Strategy = {
  name: 'fork',
  description: 'A forked child process per connection; the socket itself is handed to the child.',
  hasWorkerPool: false,
  defaults: { maxConnections: DEFAULT_MAX_CONNECTIONS },
  create: createForkEngine,
};

export function start(options?: StartOptions): Promise<RunningServer> {
  return startServer(strategy, options);
}
