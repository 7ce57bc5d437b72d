import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Connection, type SharedState, type Session } from '@fib/core';

/**
 * Just enough of a net.Socket for a Connection, with every call recorded: the
 * framing can be driven chunk by chunk, with no network and no timing.
 */
export class FakeSocket extends EventEmitter {
  written = '';
  paused = false;
  ended = false;
  destroyed = false;
  writableEnded = false;
  /** What write() returns: false simulates a client that does not read. */
  accepting = true;

  setNoDelay() {
    return this;
  }
  setTimeout() {
    return this;
  }
  pause() {
    this.paused = true;
    return this;
  }
  resume() {
    this.paused = false;
    return this;
  }
  write(data: string) {
    if (this.writableEnded) throw new Error('write after end');
    this.written += data;
    return this.accepting;
  }
  end() {
    this.ended = true;
    this.writableEnded = true;
    return this;
  }
  destroy() {
    if (!this.destroyed) {
      this.destroyed = true;
      this.emit('close');
    }
    return this;
  }
  feed(data: string | Buffer) {
    this.emit('data', typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }
  lines(): string[] {
    return this.written.split('\n').slice(0, -1);
  }
}

export interface Harness {
  socket: FakeSocket;
  connection: Connection;
  shared: SharedState;
  reported: unknown[];
}

export const LIMITS = { maxN: 40, maxLine: 128, maxPipeline: 1024, idleTimeoutMs: 0 };

export function connect(session: Session, limits: Partial<typeof LIMITS> = {}, maxQueue = 10_000): Harness {
  const socket = new FakeSocket();
  const reported: unknown[] = [];
  const shared: SharedState = { jobs: 0, maxQueue, draining: false, report: (error) => reported.push(error) };
  const connection = new Connection(socket as unknown as Socket, session, { ...LIMITS, ...limits }, shared);
  return { socket, connection, shared, reported };
}

/** A session whose answers the test releases by hand, in any order. */
export class ManualSession implements Session {
  readonly jobs: { n: number; resolve(value: number): void; reject(error: unknown): void }[] = [];
  closed = false;

  compute(n: number): Promise<number> {
    return new Promise((resolve, reject) => this.jobs.push({ n, resolve, reject }));
  }
  close() {
    this.closed = true;
  }
}

/** Lets promise callbacks run. */
export const flush = () => new Promise((resolve) => setImmediate(resolve));
