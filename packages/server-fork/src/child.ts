import {
  fib,
  hostSockets,
  isEnvelope,
  READY,
  setUpChildProcess,
  watchParent,
  type Drain,
  type Session,
  type SocketHost,
} from '@fib/core';
import type { ChildConfig } from './lib/messages.js';

// A connection child: it serves the one socket its parent hands it, then exits.
// It exits with its parent ('disconnect'), ignores SIGINT (the parent drives
// shutdown), and drains on SIGTERM as when the parent asks.
let host: SocketHost | null = null;
setUpChildProcess('@fib/server-fork/dist/child.js', process.argv[2] !== undefined, {
  watchdog: 'lazy',
  onSigterm: () => (host === null ? process.exit(0) : host.drain()),
});

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

const config = JSON.parse(process.argv[2]!) as ChildConfig;
host = hostSockets({ ...config, session, single: true, onIdle: () => process.exit(0) });
const running = host;
process.on('message', (message: unknown) => {
  if (isEnvelope<Drain>(message) && message['@fib'] === 'drain') running.drain();
});
process.send!(READY);
