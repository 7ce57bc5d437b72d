import { Socket as NetSocket, type SocketConstructorOpts } from 'node:net';
import { ERROR_LINES } from '@fib/protocol';
import { Connection, type SharedState } from '../connection.js';
import type { ServerEvent } from '../events.js';
import { reportingLogger } from '../log.js';
import type { RequestStats } from '../stats.js';
import type { Session } from '../strategy.js';
import { setUpChildProcess } from '../child.js';
import { READY, envelope, isEnvelope, type Drain } from './envelope.js';
import { answerMetrics } from './metrics-ipc.js';
import type { FromHost, Give, HostConfig } from './handoff.js';

export interface SocketHostOptions extends HostConfig {
  readonly session: Session;
  /** Every connection is over after a drain (or, with `single`, the one connection): the process may exit. */
  readonly onIdle: () => void;
  /** Serve one connection, then call onIdle (a process per connection). */
  readonly single?: boolean;
  /** Where the connections count requests, when the server's metrics are on. */
  readonly stats?: RequestStats | null;
}

/** The receiver's side, in a worker process: serves the sockets its parent hands over. */
export interface SocketHost {
  /** Answer what was received, refuse the rest, close; then onIdle. */
  drain(): void;
}

export function hostSockets(options: SocketHostOptions): SocketHost {
  const send = (message: FromHost, then?: () => void) => {
    if (process.connected) process.send!(message, undefined, undefined, then);
    else then?.();
  };
  const shared: SharedState = {
    jobs: 0,
    maxQueue: options.maxQueue,
    draining: false,
    report: (error) => {
      const event: ServerEvent = { level: 'error', event: 'job-failed', msg: `a compute job failed: ${error}` };
      send(envelope('report', { event }));
    },
    stats: options.stats ?? null,
    ...(options.debug === true
      ? { log: reportingLogger((event) => send(envelope('report', { event })), 'debug') }
      : {}),
  };
  const connections = new Set<Connection>();
  let served = 0;
  const idle = () => {
    if (connections.size === 0 && (shared.draining || (options.single === true && served > 0))) options.onIdle();
  };

  process.on('message', (message: unknown, handle: unknown) => {
    if (!isEnvelope<Give>(message) || message['@fib'] !== 'socket' || handle == null) return;
    const { id } = message;
    served++;
    // Acknowledge first, read after: if this process dies before the
    // acknowledgement is out, the socket was never read and the parent
    // gives it to another worker.
    send(envelope('adopted', { id }), () => {
      const socket = new NetSocket({ handle, readable: true, writable: true } as SocketConstructorOpts);
      if (shared.draining) {
        socket.on('error', () => socket.destroy());
        socket.end(ERROR_LINES.shuttingDown);
        socket.once('close', () => send(envelope('released', { id }), idle));
        return;
      }
      const connection = new Connection(socket, options.session, options.limits, shared);
      connections.add(connection);
      socket.once('close', () => {
        connections.delete(connection);
        send(envelope('released', { id }), idle);
      });
      socket.resume();
    });
  });

  return {
    drain() {
      if (shared.draining) return;
      shared.draining = true;
      for (const connection of connections) connection.drain();
      idle();
    },
  };
}

export interface HandedSocketsOptions {
  /** The entry's name, for the message when someone starts it by hand. */
  readonly entry: string;
  /** It runs where it should (a cluster worker, say); besides an IPC channel and its config argument. */
  readonly expected?: boolean;
  readonly session: Session;
  readonly single?: boolean;
  /** See ChildProcessOptions.watchdog. */
  readonly watchdog?: 'eager' | 'lazy';
}

/**
 * The whole of a worker process that serves sockets its parent hands over
 * (fork's connection process, a cluster worker): set up as a child (exits
 * with its parent, ignores SIGINT, drains on SIGTERM or DRAIN), host the
 * sockets with the config of its first argument (`hostConfig`, as JSON),
 * exit 0 once drained, and say READY.
 */
export async function serveHandedSockets(options: HandedSocketsOptions): Promise<void> {
  const raw = process.argv[2];
  let host: SocketHost | null = null;
  setUpChildProcess(options.entry, options.expected !== false && raw !== undefined, {
    ...(options.watchdog === undefined ? {} : { watchdog: options.watchdog }),
    // A SIGTERM sent to the whole process group (systemd's default) reaches
    // the workers with the parent's: drain, do not die mid-request.
    onSigterm: () => (host === null ? process.exit(0) : host.drain()),
  });
  const config = JSON.parse(raw!) as HostConfig;
  // With metrics on, it counts what its connections do and answers the
  // parent's scrapes; before it exits, its last counts go to the parent.
  // (prom-client is loaded only then: a process per connection starts without it).
  const metrics = config.metrics ? new (await import('../metrics.js')).ServerMetrics() : null;
  const last = metrics === null ? null : answerMetrics(metrics);
  const running = hostSockets({
    ...config,
    session: options.session,
    ...(options.single === undefined ? {} : { single: options.single }),
    stats: metrics?.stats ?? null,
    onIdle: () => (last === null ? process.exit(0) : last.sendLast(() => process.exit(0))),
  });
  host = running;
  process.on('message', (message: unknown) => {
    if (isEnvelope<Drain>(message) && message['@fib'] === 'drain') running.drain();
  });
  process.send!(READY);
}
