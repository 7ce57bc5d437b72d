import type { Socket } from 'node:net';
import type { ServerOptions } from './options.js';
import { BAD_REQUEST, BLANK, ERROR_LINES, FibError, OUT_OF_RANGE, formatError, parseRequestBytes } from '@fib/protocol';
import type { Logger } from './log.js';
import { CODE_OK, codeIndex, type RequestStats } from './stats.js';
import type { Session } from './strategy.js';

const NEWLINE = 10;
const MS_PER_S = 1000;
const CODE_BAD_REQUEST = codeIndex('bad_request');
const CODE_OUT_OF_RANGE = codeIndex('out_of_range');
const CODE_LINE_TOO_LONG = codeIndex('line_too_long');
const CODE_BUSY = codeIndex('busy');
const CODE_INTERNAL = codeIndex('internal');
const CODE_SHUTTING_DOWN = codeIndex('shutting_down');
/** How long a connection we closed may linger half-open before it is destroyed. */
const CLOSE_LINGER_MS = 1000;

export interface ConnectionLimits {
  readonly maxN: number;
  readonly maxLine: number;
  readonly maxPipeline: number;
  /** Milliseconds; 0 disables. */
  readonly idleTimeoutMs: number;
}

/** A connection's limits, from the server's options. */
export function connectionLimits(options: ServerOptions): ConnectionLimits {
  return {
    maxN: options.maxN,
    maxLine: options.maxLine,
    maxPipeline: options.maxPipeline,
    idleTimeoutMs: options.idleTimeout * 1000,
  };
}

/**
 * The index of the next `\n` at or after `start`, or -1. It looks no further
 * than one byte past the longest allowed line: beyond that the line is refused
 * anyway. A plain loop, because requests are a few bytes long and a native
 * indexOf call per line costs more than the scan.
 */
function nextNewline(bytes: Uint8Array, start: number, maxLine: number): number {
  const limit = Math.min(bytes.length, start + maxLine + 1);
  for (let i = start; i < limit; i++) {
    if (bytes[i] === NEWLINE) return i;
  }
  return -1;
}

/** Server-wide state a connection shares with the others. */
export interface SharedState {
  /** Compute jobs handed to a promise and not settled yet, server-wide. */
  jobs: number;
  readonly maxQueue: number;
  /** A graceful shutdown began: new requests are refused. */
  draining: boolean;
  /** Called with a rejection that was not a FibError, so that it is not lost. */
  readonly report: (error: unknown) => void;
  /** Request counts and latencies; null or absent when metrics are off, and then they cost nothing. */
  readonly stats?: RequestStats | null;
  /** Where a connection says it opened and closed, at level debug. */
  readonly log?: Logger;
}

/**
 * What another process needs to go on serving a connection handed over at a
 * quiet point (`Connection.handOver`): the bytes read and not parsed yet go
 * first, and the framing rule the connection had reached.
 */
export interface Carried {
  /** A `\n` was seen: a read without one no longer completes a request. */
  readonly framed: boolean;
  /** Read and not parsed yet: the start of the client's next request. */
  readonly bytes: Buffer;
}

const NOTHING = Buffer.alloc(0);

// Why the socket is paused: both must clear before it reads again.
const PAUSED_PIPELINE = 1;
const PAUSED_WRITE = 2;

/**
 * One client connection: bytes in, requests out to the session, answers back
 * in request order. Answers computed at once are written in one write per
 * read; answers that arrive later wait in `#slots` until those before them
 * are ready. The socket is paused, not buffered, when `maxPipeline` requests
 * are pending or when the client does not read its answers.
 */
export class Connection {
  readonly #socket: Socket;
  readonly #session: Session;
  readonly #limits: ConnectionLimits;
  readonly #shared: SharedState;
  /** Until the first `\n`, a read that ends without one completes a request (the original clients). */
  #lineFramed = false;
  /** Bytes after the last `\n`, at most maxLine of them. */
  #partial: Buffer | null = null;
  /** Bytes read but not parsed because the pipeline was full: at most one read's worth. */
  #held: Buffer | null = null;
  /** Answers in request order; `undefined` while still computing. */
  #slots: (string | undefined)[] = [];
  #head = 0;
  #paused = 0;
  /** Nothing more is parsed: the connection ends once its answers are written. */
  #ending = false;
  #closed = false;
  /** Reads so far: the idle timeout's proof that nothing came in. */
  #reads = 0;
  /** Requests answered, and how many of them with an ERR line: the debug line's counts. */
  #requests = 0;
  #errors = 0;
  /** Null when metrics are off: every metric hook below is behind this one test. */
  readonly #stats: RequestStats | null;
  /** performance.now() of the read being parsed (or of the held bytes' read). */
  #readAt = 0;
  #heldAt = 0;
  /**
   * Answers from workers, written together once this tick's promise
   * reactions are done: a batch's answers resolve one after another, and a
   * write each would cost more than computing them.
   */
  #out = '';
  /** Answers of the current read that go out in its own write. */
  #immediate = 0;
  /** With metrics on, the read time of each slot's request, in step with `#slots`. */
  #readAts: number[] = [];
  readonly #log: Logger | null;
  /** The client's address, taken while the socket is open (it is gone once closed), when logging it. */
  #peer = '';
  /** Set by handOver(): called at the next quiet point. */
  #handOver: ((carried: Carried) => void) | null = null;
  /** Waiting for the answers written so far to leave for the kernel. */
  #flushing = false;
  /** Handed over: the socket is another process's now; this object leaves it alone. */
  #handedOver = false;

  /** `carried`: a connection another process served until now (see handOver). */
  constructor(socket: Socket, session: Session, limits: ConnectionLimits, shared: SharedState, carried?: Carried) {
    this.#socket = socket;
    this.#session = session;
    this.#limits = limits;
    this.#shared = shared;
    this.#stats = shared.stats ?? null;
    this.#log = shared.log?.isLevelEnabled('debug') === true ? shared.log : null;
    if (this.#log !== null) {
      const { remoteAddress, remotePort } = socket;
      this.#peer =
        remoteAddress?.includes(':') === true ? `[${remoteAddress}]:${remotePort}` : `${remoteAddress}:${remotePort}`;
      this.#log.debug({ event: 'connection-opened', remote: this.#peer }, `connection from ${this.#peer} opened`);
    }
    socket.setNoDelay(true);
    if (limits.idleTimeoutMs > 0) {
      // A listener of our own, not setTimeout's callback: that one is added
      // with once(), so after firing while answers were pending it would be
      // gone, and the connection would never time out again. The timer
      // itself is re-armed by every read and write.
      socket.setTimeout(limits.idleTimeoutMs);
      socket.on('timeout', () => {
        // The timer can fire after a stall of this process's event loop,
        // before the bytes the client sent meanwhile are read: judge once
        // they have been (an immediate runs after the loop's I/O poll).
        const reads = this.#reads;
        setImmediate(() => {
          // Waiting for our own answers is not idleness.
          if (this.#reads === reads && this.#pending === 0) socket.destroy();
        });
      });
    }
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      this.#unpause(PAUSED_WRITE);
      if (this.#handOver !== null) this.#checkQuiet();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#onClose());
    if (carried !== undefined) {
      this.#lineFramed = carried.framed;
      if (carried.bytes.length > 0) this.#onData(carried.bytes);
    }
    if (shared.draining) this.drain();
  }

  get #pending(): number {
    return this.#slots.length - this.#head;
  }

  /** Graceful shutdown: answer what was received, refuse the rest, then close. */
  drain(): void {
    if (this.#handedOver) return;
    this.#handOver = null;
    if (this.#pending === 0) this.#end();
  }

  /**
   * Hands the connection over to another process (a cluster worker that
   * retires gives its connections back) at its next quiet point: every
   * request read is answered and its answer is with the kernel. Then `quiet`
   * gets what the next server needs, and this object stops reading and
   * leaves the socket alone: the caller detaches its handle. Nothing the
   * client sent is lost: what was read and not parsed travels in `Carried`,
   * what was not read yet stays in the socket. Meanwhile the connection is
   * served as usual; a connection that is closing anyway just closes.
   */
  handOver(quiet: (carried: Carried) => void): void {
    if (this.#closed || this.#ending) return;
    this.#handOver = quiet;
    this.#checkQuiet();
  }

  #checkQuiet(): void {
    const quiet = this.#handOver;
    const socket = this.#socket;
    if (quiet === null || this.#pending !== 0 || this.#paused !== 0 || this.#ending || socket.destroyed) return;
    // Answers batched for the end of this tick go out first: they are this process's to write.
    if (this.#out !== '') {
      this.#writeOut();
      if (this.#paused !== 0) return;
    }
    if (socket.writableLength > 0) {
      // Answers still on their way out: an empty write's callback runs once they all left.
      if (!this.#flushing) {
        this.#flushing = true;
        socket.write('', 'latin1', () => {
          this.#flushing = false;
          this.#checkQuiet();
        });
      }
      return;
    }
    this.#handOver = null;
    this.#handedOver = true;
    // Nothing more is parsed, and the idle timer must not close what is another process's now.
    this.#ending = true;
    socket.pause();
    socket.setTimeout(0);
    const bytes = this.#partial ?? NOTHING;
    this.#partial = null;
    quiet({ framed: this.#lineFramed, bytes });
  }

  #onData(chunk: Buffer): void {
    this.#reads++;
    if (this.#ending) return;
    if (this.#stats !== null) this.#readAt = performance.now();
    if (this.#partial !== null) {
      chunk = Buffer.concat([this.#partial, chunk]);
      this.#partial = null;
    }
    const out = this.#parse(chunk, 0);
    this.#session.flush?.();
    this.#flush(out);
  }

  /** Writes answers ready now; ends the connection if it was refused (line_too_long) and is all answered. */
  #flush(out: string): void {
    if (out !== '') this.#write(out);
    if (this.#immediate !== 0) {
      this.#stats?.duration.observe((performance.now() - this.#readAt) / MS_PER_S, this.#immediate);
      this.#immediate = 0;
    }
    if (this.#ending && this.#pending === 0) this.#end();
    else if (this.#handOver !== null) this.#checkQuiet();
  }

  /** Parses `chunk` from `start`, returns the answers ready to write now. */
  #parse(chunk: Buffer, start: number): string {
    const { maxLine, maxPipeline } = this.#limits;
    let out = '';
    let newline = nextNewline(chunk, start, maxLine);
    while (newline !== -1) {
      this.#lineFramed = true;
      out = this.#request(chunk, start, newline, out);
      start = newline + 1;
      if (this.#ending) return out;
      if (this.#pending >= maxPipeline) {
        if (start < chunk.length) {
          this.#held = chunk.subarray(start);
          this.#heldAt = this.#readAt;
        }
        this.#pause(PAUSED_PIPELINE);
        return out;
      }
      newline = nextNewline(chunk, start, maxLine);
    }
    const rest = chunk.length - start;
    if (rest > maxLine) return out + this.#tooLong();
    if (rest > 0) {
      if (this.#lineFramed) {
        // Copied, so that a small remainder does not pin a whole 64 KiB read.
        this.#partial = Buffer.from(chunk.subarray(start));
      } else {
        out = this.#request(chunk, start, chunk.length, out);
      }
    }
    return out;
  }

  /** Handles one request line; returns `out` with its answer when it is ready and first in line. */
  #request(chunk: Buffer, start: number, end: number, out: string): string {
    const n = parseRequestBytes(chunk, start, end, this.#limits.maxN);
    if (n === BLANK) return out;
    this.#requests++;
    let answer: string;
    let code = CODE_OK;
    if (n === BAD_REQUEST) {
      answer = ERROR_LINES.badRequest;
      code = CODE_BAD_REQUEST;
    } else if (n === OUT_OF_RANGE) {
      answer = ERROR_LINES.outOfRange(this.#limits.maxN);
      code = CODE_OUT_OF_RANGE;
    } else if (this.#shared.draining) {
      answer = ERROR_LINES.shuttingDown;
      code = CODE_SHUTTING_DOWN;
    } else if (this.#shared.jobs >= this.#shared.maxQueue) {
      answer = ERROR_LINES.busy;
      code = CODE_BUSY;
    } else {
      let value: number | Promise<number>;
      try {
        value = this.#session.compute(n);
      } catch (error) {
        value = Promise.reject(error);
      }
      if (typeof value === 'number') {
        answer = `${value}\n`;
      } else {
        this.#await(value);
        return out;
      }
    }
    if (code !== CODE_OK) this.#errors++;
    return this.#answerNow(answer, code, out);
  }

  /** An answer known at once: into this read's write if nothing is ahead of it, else into its slot. */
  #answerNow(answer: string, code: number, out: string): string {
    const stats = this.#stats;
    if (stats !== null) stats.codes[code]!++;
    if (this.#pending === 0) {
      this.#immediate++;
      return out + answer;
    }
    this.#slots.push(answer);
    if (stats !== null) this.#readAts.push(this.#readAt);
    return out;
  }

  #await(value: Promise<number>): void {
    const index = this.#slots.length;
    this.#slots.push(undefined);
    const stats = this.#stats;
    if (stats !== null) this.#readAts.push(this.#readAt);
    const shared = this.#shared;
    shared.jobs++;
    value.then(
      (result) => {
        shared.jobs--;
        if (stats !== null) stats.codes[CODE_OK]!++;
        this.#settle(index, `${result}\n`);
      },
      (error: unknown) => {
        shared.jobs--;
        if (this.#closed) return;
        this.#errors++;
        if (error instanceof FibError) {
          if (stats !== null) stats.codes[codeIndex(error.code)]!++;
          this.#settle(index, formatError(error.code, error.message));
        } else {
          if (stats !== null) stats.codes[CODE_INTERNAL]!++;
          shared.report(error);
          this.#settle(index, ERROR_LINES.internal);
        }
      },
    );
  }

  #settle(index: number, answer: string): void {
    if (this.#closed) return;
    this.#slots[index] = answer;
    if (index !== this.#head) return;
    let out = '';
    const slots = this.#slots;
    const first = this.#head;
    let head = first;
    while (head < slots.length && slots[head] !== undefined) out += slots[head++];
    // Answers still pending likely come in this tick (a batch): they share the write.
    this.#write(out, head < slots.length);
    if (this.#stats !== null) this.#observeWritten(first, head);
    if (head === slots.length) {
      slots.length = 0;
      this.#readAts.length = 0;
      head = 0;
    }
    this.#head = head;
    // Held bytes first: while draining they are answered `shutting_down` before the close.
    if (this.#paused & PAUSED_PIPELINE && this.#pending < this.#limits.maxPipeline) this.#resumeHeld();
    if (this.#pending === 0 && (this.#ending || this.#shared.draining)) this.#end();
    else if (this.#handOver !== null) this.#checkQuiet();
  }

  /** The latency of the slots from `first` to `end`, whose answers were just written. */
  #observeWritten(first: number, end: number): void {
    const now = performance.now();
    const duration = this.#stats!.duration;
    const readAts = this.#readAts;
    for (let i = first; i < end; i++) duration.observe((now - readAts[i]!) / MS_PER_S);
  }

  #resumeHeld(): void {
    const held = this.#held;
    this.#held = null;
    // Requests held back by the full pipeline were read when their bytes came in.
    this.#readAt = this.#heldAt;
    this.#paused &= ~PAUSED_PIPELINE;
    if (held !== null) this.#flush(this.#parse(held, 0));
    if (!(this.#paused & PAUSED_PIPELINE)) this.#unpause(0);
  }

  /** Writes `out` now, or with the answers already waiting (`soon`: at the end of this tick). */
  #write(out: string, soon = false): void {
    if (this.#closed || this.#socket.writableEnded) return;
    if (soon || this.#out !== '') {
      if (this.#out === '') process.nextTick(() => this.#writeOut());
      this.#out += out;
    } else if (!this.#socket.write(out, 'latin1')) this.#pause(PAUSED_WRITE);
  }

  #writeOut(): void {
    const out = this.#out;
    this.#out = '';
    if (out === '' || this.#closed || this.#socket.writableEnded) return;
    if (!this.#socket.write(out, 'latin1')) this.#pause(PAUSED_WRITE);
  }

  #pause(reason: number): void {
    if (this.#paused === 0) this.#socket.pause();
    this.#paused |= reason;
  }

  #unpause(reason: number): void {
    this.#paused &= ~reason;
    if (this.#paused === 0 && !this.#ending && !this.#closed) this.#socket.resume();
  }

  /** line_too_long: the error is answered in order, then the connection closes. */
  #tooLong(): string {
    this.#ending = true;
    this.#partial = null;
    this.#held = null;
    this.#requests++;
    this.#errors++;
    return this.#answerNow(ERROR_LINES.lineTooLong(this.#limits.maxLine), CODE_LINE_TOO_LONG, '');
  }

  #end(): void {
    if (this.#closed || this.#handedOver) return;
    this.#ending = true;
    this.#writeOut();
    const socket = this.#socket;
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
  }

  #onClose(): void {
    this.#closed = true;
    const how = this.#handedOver ? 'handed over' : 'closed';
    this.#log?.debug(
      {
        event: `connection-${this.#handedOver ? 'handed-over' : 'closed'}`,
        remote: this.#peer,
        requests: this.#requests,
        errors: this.#errors,
      },
      `connection from ${this.#peer} ${how} after ${this.#requests} requests (${this.#errors} ERR)`,
    );
    this.#slots = [];
    this.#readAts = [];
    this.#head = 0;
    this.#held = null;
    this.#partial = null;
    this.#session.close();
  }
}
