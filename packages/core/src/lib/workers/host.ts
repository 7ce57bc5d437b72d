import { Socket as NetSocket, type SocketConstructorOpts } from 'node:net';
import { ERROR_LINES } from '@fib/protocol';
import { type Carried, Connection, type SharedState } from '../connection.js';
import type { ServerEvent } from '../events.js';
import { reportingLogger } from '../log.js';
import type { RequestStats } from '../stats.js';
import type { Session } from '../strategy.js';
import { setUpChildProcess } from '../child.js';
import { READY, envelope, isEnvelope, type Drain } from './envelope.js';
import { answerMetrics } from './metrics-ipc.js';
import type { FromHost, Give, HandBack, HostConfig, WireCarried } from './handoff.js';

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
  /**
   * Gives every connection back to the parent at its next quiet point (see
   * Connection.handOver), the ones handed over from now on included; those
   * still held when drain() comes are closed after their last answer.
   */
  handBack(): void;
}

interface TcpHandle {
  readStop(): number;
  reading: boolean;
  close(): void;
}

/**
 * Takes the OS handle away from `socket`, which stops reading from it, with
 * whatever the socket read and did not deliver yet (it was paused). Node does
 * the same to a Socket it sends to another process.
 */
function detach(socket: NetSocket): { handle: TcpHandle; buffered: Buffer | null } | null {
  const internal = socket as unknown as { _handle: TcpHandle | null };
  const handle = internal._handle;
  if (handle === null || socket.destroyed) return null;
  handle.readStop();
  handle.reading = false;
  // Without its handle, the socket can neither read again nor close the descriptor.
  internal._handle = null;
  const buffered = socket.readableLength > 0 ? (socket.read() as Buffer | null) : null;
  return { handle, buffered };
}

/** On the wire, bytes travel as base64: the channel carries JSON. */
function fromWire(carried: WireCarried): Carried {
  return { framed: carried.framed, bytes: Buffer.from(carried.bytes ?? '', 'base64') };
}

function toWire(carried: Carried, buffered: Buffer | null): WireCarried {
  const bytes = buffered === null ? carried.bytes : Buffer.concat([carried.bytes, buffered]);
  return bytes.length === 0 ? { framed: carried.framed } : { framed: carried.framed, bytes: bytes.toString('base64') };
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
  /** Each connection served, with how to give it back to the parent. */
  const connections = new Map<Connection, () => void>();
  let handingBack = false;
  let served = 0;
  const idle = () => {
    if (connections.size === 0 && (shared.draining || (options.single === true && served > 0))) options.onIdle();
  };

  process.on('message', (message: unknown, handle: unknown) => {
    if (!isEnvelope<Give>(message) || message['@fib'] !== 'socket' || handle == null) return;
    const { id, carried } = message;
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
      const connection = new Connection(
        socket,
        options.session,
        options.limits,
        shared,
        carried === undefined ? undefined : fromWire(carried),
      );
      let handedBack = false;
      // At a quiet point: the descriptor and the unparsed bytes go to the
      // parent; ours is closed once the message left (the kernel holds the
      // one in flight), which leaves the connection open, now the parent's.
      const giveBack = () =>
        connection.handOver((state) => {
          const detached = detach(socket);
          if (detached === null || !process.connected) {
            socket.destroy();
            return;
          }
          handedBack = true;
          const back = envelope('back', { id, carried: toWire(state, detached.buffered) });
          process.send!(back, detached.handle as never, undefined, () => {
            detached.handle.close();
            socket.destroy();
          });
        });
      connections.set(connection, giveBack);
      socket.once('close', () => {
        connections.delete(connection);
        // The parent took it back: it is not released, it goes on elsewhere.
        if (handedBack) idle();
        else send(envelope('released', { id }), idle);
      });
      socket.resume();
      if (handingBack) giveBack();
    });
  });

  return {
    drain() {
      if (shared.draining) return;
      shared.draining = true;
      for (const connection of connections.keys()) connection.drain();
      idle();
    },
    handBack() {
      if (shared.draining || handingBack) return;
      handingBack = true;
      for (const giveBack of connections.values()) giveBack();
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
    if (!isEnvelope<Drain | HandBack>(message)) return;
    if (message['@fib'] === 'drain') running.drain();
    else if (message['@fib'] === 'hand-back') running.handBack();
  });
  process.send!(READY);
}
