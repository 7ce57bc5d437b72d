/**
 * `@fib/core/worker`: what a worker thread or process needs, and nothing of
 * the server's own dependencies (prom-client, pino). Importing `@fib/core`
 * costs a worker ~100 ms more at start-up, and the thread and fork
 * strategies start one per connection.
 */
export { fib } from './lib/fib.js';
export { runTask, type WorkerAnswer, type WorkerTask } from './lib/dispatch/task.js';
export {
  DRAIN,
  MARK,
  READY,
  envelope,
  isEnvelope,
  type Drain,
  type Envelope,
  type Ready,
} from './lib/workers/envelope.js';
export { setUpChildProcess, watchParent, type ChildProcessOptions } from './lib/child.js';
export {
  hostSockets,
  serveHandedSockets,
  type HandedSocketsOptions,
  type SocketHost,
  type SocketHostOptions,
} from './lib/workers/host.js';
