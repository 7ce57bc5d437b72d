import { fib, serveHandedSockets, watchParent } from '@fib/core/worker';

/**
 * From fib(35) on (about 0.1 s) a computation blocks the event loop long
 * enough that 'disconnect' could not be seen in time if the parent died:
 * only then start the watchdog thread, which every child would otherwise pay
 * for at start-up.
 */
const WATCH_FROM_N = 35;

// A connection process: it serves the one socket its parent hands it, then exits.
await serveHandedSockets({
  entry: '@fib/server-fork/dist/child.js',
  single: true,
  watchdog: 'lazy',
  session: {
    compute(n) {
      if (n >= WATCH_FROM_N) watchParent();
      return fib(n);
    },
    close() {},
  },
});
