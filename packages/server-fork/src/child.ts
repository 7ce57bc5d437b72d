import type { Socket } from 'node:net';
import { Connection, fib, setUpChildProcess, watchParent, type Session, type SharedState } from '@fib/core';
import { TAG, isToChild, type ToParent } from './lib/messages.js';

// A connection child: it serves the one socket its parent hands it, then exits.
// It exits with its parent ('disconnect'), ignores SIGINT (the parent drives
// shutdown), and drains on SIGTERM as when the parent asks.
setUpChildProcess('@fib/server-fork/dist/child.js', true, { watchdog: 'lazy', onSigterm: drain });

/**
 * From fib(35) on (about 0.1 s) a computation blocks the event loop long
 * enough that 'disconnect' could not be seen in time if the parent died:
 * only then start the watchdog thread, which every child would otherwise pay
 * for at start-up.
 */
const WATCH_FROM_N = 35;

/** fib inline, as the event-loop server computes it, but watched when long. */
const session: Session = {
  compute(n) {
    if (n >= WATCH_FROM_N) watchParent();
    return fib(n);
  },
  close() {},
};

let connection: Connection | null = null;
let shared: SharedState | null = null;
let drainRequested = false;

process.on('message', (message: unknown, handle: unknown) => {
  if (!isToChild(message)) return;
  if (message.type === 'drain') {
    drain();
    return;
  }
  if (connection !== null || handle === undefined) return;
  const socket = handle as Socket;
  const { limits, maxQueue } = message.config;
  shared = {
    jobs: 0,
    maxQueue,
    draining: drainRequested,
    report: (error) => console.error('fib-server-fork: a compute job failed:', error),
  };
  connection = new Connection(socket, session, limits, shared);
  socket.once('close', () => process.exit(0));
  socket.resume();
});

/** Answer what was received, refuse the rest, close; the socket's close ends the process. */
function drain(): void {
  drainRequested = true;
  if (shared !== null) shared.draining = true;
  connection?.drain();
}

const ready: ToParent = { tag: TAG, type: 'ready' };
process.send!(ready);
