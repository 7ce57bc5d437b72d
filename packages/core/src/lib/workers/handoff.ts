import { Socket as NetSocket, type Socket, type SocketConstructorOpts } from 'node:net';
import { ERROR_LINES } from '@fib/protocol';
import { Connection, type ConnectionLimits, type SharedState } from '../connection.js';
import type { Reporter, ServerEvent } from '../events.js';
import { reportingLogger } from '../log.js';
import type { RequestStats } from '../stats.js';
import type { Session } from '../strategy.js';
import { envelope, isEnvelope, type Envelope } from './envelope.js';
import type { WorkerHandle } from './handle.js';

/**
 * Handing a client socket to a worker process so that no connection is ever
 * lost in transit. Node's own handoffs (cluster's round-robin, `send(msg,
 * socket)`) close the sender's copy only when the receiver acknowledges it: a
 * receiver that dies first leaves the connection open in the sender, unread,
 * forever. Here the sender keeps its copy on purpose and sends the bare
 * handle; the receiver acknowledges before it reads a single byte. So:
 * - acknowledged: the worker serves it; the sender closes its copy (the
 *   connection lives on in the worker) and learns when it is released;
 * - the worker ended without acknowledging: it never read from the socket,
 *   which is still the sender's, whole, to hand to another worker.
 */
/**
 * Workers a connection is offered to, at most, when each dies before taking
 * it: the retry-once rule of requests, for sockets. It was never read, so
 * the retry is safe; the bound keeps it from circling while workers crash.
 */
export const MAX_HANDOFFS = 2;

type Give = Envelope<'socket', { id: number }>;
type Adopted = Envelope<'adopted', { id: number }>;
type Released = Envelope<'released', { id: number }>;
/** A worker's report, forwarded to the server's Reporter: only the server's CLI prints. */
type Report = Envelope<'report', { event: ServerEvent }>;
type FromHost = Adopted | Released | Report;

/** The sender's side, one per worker process. */
export class HandoffPort {
  readonly #worker: WorkerHandle;
  #nextId = 0;
  readonly #pending = new Map<number, { socket: Socket; settle: (adopted: boolean) => void }>();
  readonly #held = new Map<number, () => void>();

  constructor(worker: WorkerHandle, report: Reporter) {
    this.#worker = worker;
    worker.onMessage((message) => {
      if (!isEnvelope<FromHost>(message)) return;
      if (message['@fib'] === 'adopted') this.#adopted(message.id);
      else if (message['@fib'] === 'released') this.#released(message.id);
      else if (message['@fib'] === 'report') report({ ...message.event, worker: worker.id });
    });
    void worker.exited.then(() => {
      // Its 'close' came after every message it sent: what is still pending was never read.
      for (const { settle } of this.#pending.values()) settle(false);
      this.#pending.clear();
      // What it served died with it.
      for (const release of this.#held.values()) release();
      this.#held.clear();
    });
  }

  /** Handoffs not acknowledged yet: while there is one, the worker's event loop has not come round. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Connections the worker serves. */
  get held(): number {
    return this.#held.size;
  }

  /**
   * Hands `socket` (paused, never read: the server listens with
   * pauseOnConnect) to the worker. Resolves true once the worker took it;
   * `release` is then called when that connection is over (or the worker
   * died). Resolves false if the worker ended first: the socket is untouched
   * and still the caller's.
   */
  give(socket: Socket, release: () => void): Promise<boolean> {
    const id = ++this.#nextId;
    return new Promise<boolean>((resolve) => {
      const settle = (adopted: boolean) => {
        this.#pending.delete(id);
        if (adopted) this.#held.set(id, release);
        resolve(adopted);
      };
      // The bare handle: sending the Socket would make Node close our copy on its own schedule.
      const handle = (socket as unknown as { _handle: unknown })._handle;
      if (handle == null || !this.#worker.send(envelope('socket', { id }), handle)) {
        resolve(false);
        return;
      }
      this.#pending.set(id, { socket, settle });
    });
  }

  #adopted(id: number): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    // Closing our descriptor leaves the connection to the worker's (no FIN: destroy, not end).
    pending.socket.destroy();
    pending.settle(true);
  }

  #released(id: number): void {
    const release = this.#held.get(id);
    if (release === undefined) return;
    this.#held.delete(id);
    release();
  }
}

export interface SocketHostOptions {
  readonly limits: ConnectionLimits;
  readonly maxQueue: number;
  readonly session: Session;
  /** Every connection is over after a drain (or, with `single`, the one connection): the process may exit. */
  readonly onIdle: () => void;
  /** Serve one connection, then call onIdle (a process per connection). */
  readonly single?: boolean;
  /** Where the connections count requests, when the server's metrics are on. */
  readonly stats?: RequestStats | null;
  /** --log-level debug: each connection reports when it opens and closes. */
  readonly debug?: boolean;
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
