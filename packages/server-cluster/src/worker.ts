import cluster from 'node:cluster';
import {
  envelope,
  fib,
  hostSockets,
  isEnvelope,
  answerMetrics,
  READY,
  ServerMetrics,
  setUpChildProcess,
  type Drain,
  type Session,
  type SocketHost,
} from '@fib/core';
import { CONFIG_ENV, type Busy, type Idle, type WorkerConfig } from './lib/messages.js';

// A cluster worker: serves, with the event-loop server's framing and inline
// fib, the connections the primary hands it. It exits with its primary, even
// in the middle of a long fib (the watchdog thread of setUpChildProcess),
// ignores SIGINT and drains on SIGTERM or DRAIN: the primary drives shutdown.
const raw = process.env[CONFIG_ENV];
let host: SocketHost | null = null;
setUpChildProcess('@fib/server-cluster/dist/worker.js', cluster.isWorker && raw !== undefined, {
  // A SIGTERM sent to the whole process group (systemd's default) reaches the
  // workers with the primary's: drain, do not die mid-request.
  onSigterm: () => (host === null ? process.exit(0) : host.drain()),
});

/** From here a computation blocks the loop for 0.1 s or more (fib(35) on this machine). */
const LONG_FROM_N = 35;
const BUSY: Busy = envelope('busy');
const IDLE: Idle = envelope('idle');

const session: Session = {
  compute(n) {
    if (n < LONG_FROM_N) return fib(n);
    process.send!(BUSY);
    const value = fib(n);
    process.send!(IDLE);
    return value;
  },
  close() {},
};

const config = JSON.parse(raw!) as WorkerConfig;
// With metrics on, it counts what its connections do and answers the
// primary's scrapes; before it exits, its last counts go to the primary.
const metrics = config.metrics ? new ServerMetrics() : null;
const last = metrics === null ? null : answerMetrics(metrics);
host = hostSockets({
  ...config,
  session,
  stats: metrics?.stats ?? null,
  onIdle: () => (last === null ? process.exit(0) : last.sendLast(() => process.exit(0))),
});
const running = host;
process.on('message', (message: unknown) => {
  if (isEnvelope<Drain>(message) && message['@fib'] === 'drain') running.drain();
});
process.send!(READY);
