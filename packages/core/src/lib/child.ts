import { Worker } from 'node:worker_threads';

/** Exit code of a child entry started by hand, as for a wrong command line. */
const EXIT_WRONG_CONTEXT = 2;
/**
 * How often a child checks that its parent is alive while its main thread may
 * be busy: a fib(40) keeps the event loop blocked for about a second, a
 * fib(70) for hours, so the 'disconnect' event alone cannot be relied on.
 */
const PARENT_POLL_MS = 250;

// The watchdog runs in its own thread: it keeps watching while the child's
// main thread computes. Plain CommonJS, as `eval` workers take.
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
setInterval(() => {
  if (process.ppid !== workerData.ppid) process.kill(process.pid, 'SIGKILL');
}, workerData.pollMs);
`;

export interface ChildProcessOptions {
  /**
   * 'lazy' leaves the watchdog thread to a later `watchParent()` call: for a
   * child that often never computes anything long (a process per
   * connection), the thread would double its start-up cost for nothing.
   */
  watchdog?: 'eager' | 'lazy';
  /**
   * What SIGTERM does. Default: exit 0 once the messages already sent to the
   * parent are written. A child that serves a socket itself passes its drain.
   */
  onSigterm?: () => void;
}

/**
 * The first thing a worker-process entry file does. It refuses to run without
 * an IPC channel (someone started the file by hand) or outside the runtime
 * that should have started it (`expected`), and ties the child's life to its
 * parent's:
 * - 'disconnect' (the parent closed the channel, or died, even by SIGKILL): exit;
 * - a watchdog thread notices the parent is gone even while the main thread
 *   is stuck in a long computation, and kills the child;
 * - SIGINT is ignored: a terminal's Ctrl-C reaches the whole process group, and
 *   the parent, which is draining, decides when its children stop;
 * - SIGTERM ends the child gracefully, never in the middle of a job: a JS
 *   handler runs between two jobs (fib does not yield), so a SIGTERM sent to
 *   the whole process group (systemd's default, `kill -TERM -PGID`) lets the
 *   job in hand finish and its answer reach the parent, which is draining too.
 */
export function setUpChildProcess(entry: string, expected = true, options: ChildProcessOptions = {}): void {
  if (typeof process.send !== 'function' || !expected) {
    process.stderr.write(
      `${entry}: this file is a worker process entry; a fib server starts it over IPC, not by hand\n`,
    );
    process.exit(EXIT_WRONG_CONTEXT);
  }
  process.on('disconnect', () => process.exit(0));
  process.on('SIGINT', () => {});
  process.on('SIGTERM', options.onSigterm ?? exitOnceSent);
  if (options.watchdog !== 'lazy') watchParent();
}

/** How long a terminating child waits for its last messages to reach the parent. */
const FLUSH_LIMIT_MS = 1000;

/**
 * Exits 0 once the IPC channel has no write queued (a result sent just
 * before the signal was handled), or after FLUSH_LIMIT_MS if the parent does
 * not read. The parent, once it sees the exit, retries any job still held.
 */
function exitOnceSent(): void {
  const deadline = Date.now() + FLUSH_LIMIT_MS;
  const check = () => {
    const queued = (process.channel as { writeQueueSize?: number } | undefined)?.writeQueueSize ?? 0;
    if (queued === 0 || Date.now() > deadline) process.exit(0);
    else setTimeout(check, 1);
  };
  check();
}

let watching = false;

/**
 * Starts the watchdog thread of `setUpChildProcess` (once; later calls do
 * nothing). Call it before a computation that may block the main thread for
 * long. The thread boots on its own, so it watches even if the main thread
 * blocks right after this call.
 */
export function watchParent(): void {
  if (watching) return;
  watching = true;
  const watchdog = new Worker(WATCHDOG, { eval: true, workerData: { ppid: process.ppid, pollMs: PARENT_POLL_MS } });
  // The watchdog must never be what keeps a child alive.
  watchdog.unref();
}
