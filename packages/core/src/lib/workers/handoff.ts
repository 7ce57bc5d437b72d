import { Socket, type SocketConstructorOpts } from 'node:net';
import { ERROR_LINES } from '@fib/protocol';
import { type ConnectionLimits, connectionLimits } from '../connection.js';
import type { Reporter, ServerEvent } from '../events.js';
import type { ServerOptions } from '../options.js';
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
 * A worker that retires (a cluster reload) hands each connection back the
 * same way, at a quiet point, with the bytes it read and did not parse yet
 * (`Carried`); the sender hands it on to another worker, which parses those
 * first: the client sees nothing.
 */
/**
 * Workers a connection is offered to, at most, when each dies before taking
 * it. It was never read, so another offer is always safe, and a socket that
 * was never read cannot be what killed a worker; the bound only keeps a
 * connection from circling while workers crash on every handoff. A pool
 * raises it to its size + 1: every worker may die at once (a signal to the
 * process group, the OOM killer), and a socket each of them gives back must
 * still reach a replacement.
 */
export const MAX_HANDOFFS = 2;

/** A connection's Carried state on the channel (JSON): bytes in base64, absent when none. */
export interface WireCarried {
  readonly framed: boolean;
  readonly bytes?: string;
}

/** A socket handed over; `carried` when another worker served it until now. */
export type Give = Envelope<'socket', { id: number; carried?: WireCarried }>;
export type Adopted = Envelope<'adopted', { id: number }>;
export type Released = Envelope<'released', { id: number }>;
/** Worker to sender, with the socket's handle: connection `id` is given back, served so far. */
export type Back = Envelope<'back', { id: number; carried: WireCarried }>;
/** A worker's report, forwarded to the server's Reporter: only the server's CLI prints. */
export type Report = Envelope<'report', { event: ServerEvent }>;
export type FromHost = Adopted | Released | Back | Report;
/** Sender to worker: give every connection back at its next quiet point. */
export type HandBack = Envelope<'hand-back'>;
const HAND_BACK: HandBack = envelope('hand-back');

/** Where a connection a worker gave back goes: the sender hands it on. */
export type TakeBack = (socket: Socket, release: () => void, carried: WireCarried) => void;

/** What a process serving handed sockets needs: its one command-line argument, as JSON. */
export interface HostConfig {
  readonly limits: ConnectionLimits;
  readonly maxQueue: number;
  /** The server's metrics are on: count requests, answer the parent's scrapes. */
  readonly metrics: boolean;
  /** --log-level debug: connections report when they open and close. */
  readonly debug: boolean;
}

export function hostConfig(options: ServerOptions): HostConfig {
  return {
    limits: connectionLimits(options),
    maxQueue: options.maxQueue,
    metrics: options.metricsPort !== null,
    debug: options.logLevel === 'debug',
  };
}

/** The sender's side, one per worker process. */
export class HandoffPort {
  readonly #worker: WorkerHandle;
  #nextId = 0;
  readonly #pending = new Map<number, { socket: Socket; settle: (adopted: boolean) => void }>();
  readonly #held = new Map<number, () => void>();
  readonly #takeBack: TakeBack | undefined;
  /** Called whenever the worker holds one connection fewer, and when it is gone. */
  #fewer: (() => void) | null = null;

  /** `takeBack`: where connections the worker gives back go (see handBack); without it they are closed. */
  constructor(worker: WorkerHandle, report: Reporter, takeBack?: TakeBack) {
    this.#worker = worker;
    this.#takeBack = takeBack;
    worker.onMessage((message, handle) => {
      if (!isEnvelope<FromHost>(message)) return;
      if (message['@fib'] === 'adopted') this.#adopted(message.id);
      else if (message['@fib'] === 'released') this.#released(message.id);
      else if (message['@fib'] === 'back') this.#back(message, handle);
      else if (message['@fib'] === 'report') report({ ...message.event, worker: worker.id });
    });
    void worker.exited.then(() => {
      // Its 'close' came after every message it sent: what is still pending was never read.
      for (const { settle } of this.#pending.values()) settle(false);
      this.#pending.clear();
      // What it served died with it.
      for (const release of this.#held.values()) release();
      this.#held.clear();
      this.#fewer?.();
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
  give(socket: Socket, release: () => void, carried?: WireCarried): Promise<boolean> {
    const id = ++this.#nextId;
    return new Promise<boolean>((resolve) => {
      const settle = (adopted: boolean) => {
        this.#pending.delete(id);
        if (adopted) this.#held.set(id, release);
        resolve(adopted);
      };
      // The bare handle: sending the Socket would make Node close our copy on its own schedule.
      const handle = (socket as unknown as { _handle: unknown })._handle;
      const give: Give = envelope('socket', carried === undefined ? { id } : { id, carried });
      if (handle == null || !this.#worker.send(give, handle)) {
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
    this.#fewer?.();
  }

  /**
   * Asks the worker to give every connection back at its next quiet point
   * (those handed to it meanwhile included). Resolves with how many it still
   * holds once it holds none, once it is gone, or after `timeoutMs`.
   */
  handBack(timeoutMs: number): Promise<number> {
    const left = () => this.#held.size + this.#pending.size;
    if (!this.#worker.send(HAND_BACK)) return Promise.resolve(left());
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#fewer = null;
        resolve(left());
      };
      const timer = setTimeout(done, timeoutMs);
      this.#fewer = () => {
        if (left() === 0 || !this.#worker.alive) done();
      };
      this.#fewer();
    });
  }

  #back(message: Back, handle: unknown): void {
    const release = this.#held.get(message.id);
    if (release === undefined || handle == null) {
      (handle as { close?: () => void } | null)?.close?.();
      return;
    }
    this.#held.delete(message.id);
    // Wrapped without reading: the next worker reads it.
    const socket = new Socket({ handle, readable: true, writable: true, pauseOnCreate: true } as SocketConstructorOpts);
    if (this.#takeBack === undefined) {
      socket.destroy();
      release();
    } else {
      this.#takeBack(socket, release, message.carried);
    }
    this.#fewer?.();
  }
}

interface Waiting {
  readonly socket: Socket;
  readonly release: () => void;
  handoffs: number;
  /** A connection a worker gave back: what the next one parses first. */
  readonly carried?: WireCarried;
}

/**
 * The connections a handoff engine accepted and has not handed over yet,
 * in arrival order, with the rules for one that comes back: a worker that
 * died before taking it leaves it whole, so it goes first to the next
 * worker, at most `maxHandoffs` times, then is answered `ERR internal`.
 * `next` is called whenever there is something to hand over.
 */
export class HandoffQueue {
  readonly #items: Waiting[] = [];
  readonly #next: () => void;
  readonly #maxHandoffs: number;
  #draining = false;

  constructor(next: () => void, maxHandoffs = MAX_HANDOFFS) {
    this.#next = next;
    this.#maxHandoffs = maxHandoffs;
  }

  get length(): number {
    return this.#items.length;
  }

  push(socket: Socket, release: () => void): void {
    // Until a worker takes it, a client that gives up is ours to clean up.
    socket.on('error', () => socket.destroy());
    if (this.#draining) {
      this.#refuse({ socket, release, handoffs: 0 }, ERROR_LINES.shuttingDown);
      return;
    }
    this.#items.push({ socket, release, handoffs: 0 });
    this.#next();
  }

  /**
   * A connection a worker gave back, served so far: it goes first (its client
   * may be waiting for an answer), with what it carries.
   */
  back(socket: Socket, release: () => void, carried: WireCarried): void {
    socket.on('error', () => socket.destroy());
    const item: Waiting = { socket, release, handoffs: 0, carried };
    if (this.#draining) {
      this.#refuse(item, ERROR_LINES.shuttingDown);
      return;
    }
    this.#items.unshift(item);
    this.#next();
  }

  /** The next connection whose client is still there. */
  shift(): Waiting | undefined {
    let item = this.#items.shift();
    while (item?.socket.destroyed) {
      item.release();
      item = this.#items.shift();
    }
    return item;
  }

  /** Hands `item` to the worker behind `port`; resolves whether it took it (if not, it is dealt with). */
  async give(port: HandoffPort, item: Waiting): Promise<boolean> {
    item.handoffs++;
    const adopted = await port.give(item.socket, item.release, item.carried);
    if (!adopted) this.returned(item);
    return adopted;
  }

  /** `item` was not taken (its worker died, or could not start). */
  returned(item: Waiting): void {
    if (this.#draining) this.#refuse(item, ERROR_LINES.shuttingDown);
    else if (item.handoffs >= this.#maxHandoffs) this.#refuse(item, ERROR_LINES.internal);
    else {
      this.#items.unshift(item);
      this.#next();
    }
  }

  /** A graceful shutdown began: what waits, and what comes back, is answered `ERR shutting_down`. */
  drain(): void {
    this.#draining = true;
    for (const item of this.#items.splice(0)) this.#refuse(item, ERROR_LINES.shuttingDown);
  }

  /** No worker will ever take them: `ERR internal` to each. */
  fail(): void {
    for (const item of this.#items.splice(0)) this.#refuse(item, ERROR_LINES.internal);
  }

  #refuse(item: Waiting, line: string): void {
    if (!item.socket.destroyed) item.socket.end(line);
    item.release();
  }
}
