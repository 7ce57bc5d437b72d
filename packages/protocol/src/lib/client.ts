import { connect as netConnect, type Socket } from 'node:net';
import { parseAnswer } from './format.js';
import { DEFAULT_HOST, DEFAULT_PORT } from './limits.js';

export interface FibClientOptions {
  host?: string;
  port?: number;
  /** Milliseconds to wait for the connection; 0 waits as long as the OS does. Default 10 000. */
  connectTimeout?: number;
}

interface Waiter {
  resolve(value: number): void;
  reject(error: Error): void;
}

/**
 * A promise client. Calls may overlap: each `fib()` writes its request at
 * once (pipelining) and answers are matched to calls in order, as the
 * protocol guarantees.
 */
export class FibClient {
  readonly #socket: Socket;
  readonly #waiting: Waiter[] = [];
  #head = 0;
  #partial = '';
  #closedError: Error | null = null;
  readonly #closed: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('error', (error) => this.#fail(error));
    this.#closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#fail(new Error('connection closed by the server'));
        resolve();
      });
    });
  }

  static connect(options: FibClientOptions = {}): Promise<FibClient> {
    const { host = DEFAULT_HOST, port = DEFAULT_PORT, connectTimeout = 10_000 } = options;
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port });
      const timer =
        connectTimeout > 0
          ? setTimeout(() => {
              socket.destroy();
              reject(new Error(`timed out connecting to ${host}:${port}`));
            }, connectTimeout)
          : undefined;
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new FibClient(socket));
      });
    });
  }

  /** Sends `n` and resolves with fib(n); rejects with a FibError for an `ERR` answer. */
  fib(n: number): Promise<number> {
    if (!Number.isSafeInteger(n) || n < 0) {
      return Promise.reject(new RangeError(`n must be a non-negative integer (got ${n})`));
    }
    if (this.#closedError) return Promise.reject(this.#closedError);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#socket.write(`${n}\n`);
    });
  }

  /** Requests sent and not answered yet. */
  get pending(): number {
    return this.#waiting.length - this.#head;
  }

  /** Closes the connection; calls still waiting are rejected. */
  close(): Promise<void> {
    this.#socket.end();
    return this.#closed;
  }

  #onData(chunk: string): void {
    let start = 0;
    let newline = chunk.indexOf('\n');
    if (newline === -1) {
      this.#partial += chunk;
      return;
    }
    let line = this.#partial + chunk.slice(0, newline);
    this.#partial = '';
    for (;;) {
      this.#settle(line);
      start = newline + 1;
      newline = chunk.indexOf('\n', start);
      if (newline === -1) break;
      line = chunk.slice(start, newline);
    }
    if (start < chunk.length) this.#partial = chunk.slice(start);
  }

  #settle(line: string): void {
    const waiter = this.#waiting[this.#head];
    if (!waiter) {
      this.#fail(new Error(`unexpected answer with no request waiting: ${JSON.stringify(line)}`));
      this.#socket.destroy();
      return;
    }
    this.#waiting[this.#head++] = undefined as never;
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#head = 0;
    }
    try {
      waiter.resolve(parseAnswer(line));
    } catch (error) {
      waiter.reject(error as Error);
    }
  }

  #fail(error: Error): void {
    this.#closedError ??= error;
    const waiting = this.#waiting.slice(this.#head);
    this.#waiting.length = 0;
    this.#head = 0;
    for (const waiter of waiting) waiter.reject(error);
  }
}
