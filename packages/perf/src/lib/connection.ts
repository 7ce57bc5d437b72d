import { connect, type Socket } from 'node:net';
import { FibError, parseAnswer } from '@fib/protocol';
import type { Counters } from './stats.js';
import type { LatencyRecorder } from './latency.js';

/** Where a run is; a plain object rather than a const enum, which isolatedModules cannot share across files. */
export const Phase = {
  Connecting: 0,
  Warmup: 1,
  Measure: 2,
  Stopped: 3,
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

/** What a connection needs from the run that owns it. */
export interface RunContext {
  readonly phase: Phase;
  readonly pipeline: number;
  readonly expected: number;
  /** Digits of the expected answer: "01" is not how a server writes 1. */
  readonly expectedDigits: number;
  readonly measured: Counters;
  readonly warmup: Counters;
  readonly latency: LatencyRecorder;
  readonly onAnswer: ((latencyMicros: number) => void) | undefined;
  /** `count` requests already built into one Buffer, so a batch is a single write. */
  requests(count: number): Buffer;
  /** Grants up to `wanted` requests from the run's `--requests` budget. */
  take(wanted: number): number;
  /** Fixed rate: this connection has a request due at `at` (ms); make sure a timer wakes it. */
  wake(at: number): void;
  /** This connection has nothing in flight and the budget is spent: maybe the run is done. */
  drained(): void;
  /** Reports a problem once per `key`. */
  problem(key: string, message: string): void;
  /** The server closed or reset this connection, or broke the protocol on it. */
  lost(connection: Connection, message: string, key: string): void;
}

const NEWLINE = 10;
const ZERO = 48;
/** The longest answer line is "ERR <code> <message>"; anything this long is not one. */
const MAX_ANSWER_LINE = 4096;

/**
 * Every read of every connection lands in this one buffer: reads are handled
 * to the end, synchronously, before the next one, and nothing keeps a view of
 * it (odd lines are copied out as strings). No allocation per read.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * One TCP connection of a load run: the hot path. It writes whole batches of
 * pre-built requests, scans answers byte by byte straight from the read
 * buffer, takes one clock reading per read and one per write, and keeps send
 * times in a ring.
 */
export class Connection {
  readonly #run: RunContext;
  #socket: Socket | null = null;
  /** Send (or, at a fixed rate, intended send) time of each request in flight, in ms. */
  readonly #sent: Float64Array;
  readonly #mask: number;
  #head = 0;
  inflight = 0;
  /** Requests in flight when measuring began: their answers belong to the warmup. */
  #warmupLeft = 0;
  /** The digits of the current answer line, while it has only digits. */
  #value = 0;
  #digits = 0;
  /** The start of an answer line that is not a plain number, while its end is awaited. */
  #odd: string | null = null;
  #alive = false;

  // Fixed-rate schedule: the next request is due at #next (ms); gaps average #interval.
  #next = 0;
  #interval = 0;
  /** Whether gaps are drawn from an exponential distribution (Poisson arrivals) rather than fixed. */
  #poisson = false;

  constructor(run: RunContext) {
    this.#run = run;
    let size = 1;
    while (size < run.pipeline) size *= 2;
    this.#sent = new Float64Array(size);
    this.#mask = size - 1;
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Requests in flight that count in the measurement. */
  get measuredInflight(): number {
    return this.inflight - this.#warmupLeft;
  }

  get warmupInflight(): number {
    return this.#warmupLeft;
  }

  /** Resolves once connected; rejects with the reason it could not. */
  open(host: string, port: number, timeout: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host,
        port,
        noDelay: true,
        onread: { buffer: READ_BUFFER, callback: (nread: number) => this.#onRead(nread) },
      });
      this.#socket = socket;
      const timer = setTimeout(() => socket.destroy(new Error(`timed out after ${timeout} ms`)), timeout);
      const onError = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        this.#alive = true;
        let lastError: Error | undefined;
        let peerEnded = false;
        socket.on('error', (error) => (lastError = error));
        socket.on('end', () => (peerEnded = true));
        socket.on('close', () => this.#onClose(peerEnded ? undefined : lastError));
        resolve();
      });
    });
  }

  /** Called as measuring begins: what is in flight now is warmup traffic. */
  beginMeasure(now: number, interval: number, offset: number, poisson: boolean): void {
    this.#warmupLeft = this.inflight;
    this.startSchedule(now + offset, interval, poisson);
  }

  startSchedule(t0: number, interval: number, poisson: boolean): void {
    this.#next = t0;
    this.#interval = interval;
    this.#poisson = poisson;
  }

  /** The gap to the next request: fixed, or exponential with the same mean (1 - random() is never 0). */
  #gap(): number {
    return this.#poisson ? -Math.log(1 - Math.random()) * this.#interval : this.#interval;
  }

  /** Closed loop: fill every free slot, in one write. */
  refill(): void {
    const free = this.#run.pipeline - this.inflight;
    if (free === 0 || !this.#alive) return;
    const count = this.#run.take(free);
    if (count === 0) return;
    const now = performance.now();
    const sent = this.#sent;
    const mask = this.#mask;
    let slot = (this.#head + this.inflight) & mask;
    for (let i = 0; i < count; i++) {
      sent[slot] = now;
      slot = (slot + 1) & mask;
    }
    this.inflight += count;
    this.#socket!.write(this.#run.requests(count));
  }

  /**
   * Fixed rate: send every request due by `now` that fits in the pipeline, in
   * one write. Each one's intended send time goes into its slot: latency
   * counts from there, however late the send.
   */
  pump(now: number): void {
    if (!this.#alive || this.#next > now) return;
    const free = this.#run.pipeline - this.inflight;
    if (free <= 0) return;
    const sent = this.#sent;
    const mask = this.#mask;
    const first = (this.#head + this.inflight) & mask;
    // Draw the due send times into the free slots, then ask the --requests budget for that many.
    let due = 0;
    let next = this.#next;
    let slot = first;
    while (due < free && next <= now) {
      sent[slot] = next;
      slot = (slot + 1) & mask;
      next += this.#gap();
      due++;
    }
    const count = this.#run.take(due);
    // Past the budget: the first request not sent stays due.
    this.#next = count === due ? next : sent[(first + count) & mask]!;
    if (count === 0) return;
    this.inflight += count;
    this.#socket!.write(this.#run.requests(count));
  }

  /** When the next request is due, or Infinity if the pipeline is full (an answer will wake us). */
  nextDue(): number {
    if (!this.#alive || this.inflight === this.#run.pipeline) return Infinity;
    return this.#next;
  }

  /** Fixed rate: about how many requests were due by `now` but not sent (the pipeline was full). */
  behind(now: number): number {
    if (!this.#alive || this.#interval === 0 || now < this.#next) return 0;
    return Math.floor((now - this.#next) / this.#interval) + 1;
  }

  /** Half-closes, and destroys after `grace` ms if the server has not closed by then. */
  close(grace: number): Promise<void> {
    const socket = this.#socket;
    this.#alive = false;
    if (socket === null || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => socket.destroy(), grace);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.on('error', () => {}); // a reset while closing is nothing to report
      socket.end();
    });
  }

  #onRead(nread: number): boolean {
    const run = this.#run;
    // Answers after the run stopped are not counted. Bytes that arrive while
    // other connections are still opening are read: with nothing in flight
    // they are a protocol violation, and a server's "ERR busy" greeting shows.
    if (run.phase === Phase.Stopped) return true;
    const now = performance.now();
    const buf = READ_BUFFER;
    let value = this.#value;
    let digits = this.#digits;
    let i = 0;
    if (this.#odd !== null) {
      i = this.#continueOdd(nread, 0) + 1; // past the newline that ended it
      if (!this.#alive) return true;
    }
    for (; i < nread; i++) {
      const digit = buf[i]! - ZERO;
      if (digit >= 0 && digit <= 9) {
        value = value * 10 + digit;
        digits++;
      } else if (digit === NEWLINE - ZERO && digits !== 0) {
        // a plain number: the hot path
        this.#settleNumber(value, digits, now);
        value = 0;
        digits = 0;
      } else {
        // Not a plain number (an ERR line, an empty line, garbage): the slow path.
        this.#odd = digits === 0 ? '' : String(value).padStart(digits, '0');
        value = 0;
        digits = 0;
        i = this.#continueOdd(nread, i);
      }
      if (!this.#alive) return true;
    }
    this.#value = value;
    this.#digits = digits;
    if (run.phase === Phase.Measure || run.phase === Phase.Warmup) this.#afterAnswers(now);
    return true;
  }

  #afterAnswers(now: number): void {
    if (this.#interval === 0) {
      this.refill();
    } else {
      this.pump(now);
      this.#run.wake(this.nextDue());
    }
    if (this.inflight === 0) this.#run.drained();
  }

  /** Reads the rest of an odd line from `from`; returns the index of its newline, or `end`. */
  #continueOdd(end: number, from: number): number {
    const buf = READ_BUFFER;
    let newline = from;
    while (newline < end && buf[newline] !== NEWLINE) newline++;
    const line = this.#odd + buf.toString('latin1', from, newline);
    if (newline === end) {
      this.#odd = line;
      if (line.length > MAX_ANSWER_LINE) {
        this.#violation(`answer line longer than ${MAX_ANSWER_LINE} bytes`, 'long-line');
      }
      return end;
    }
    this.#odd = null;
    this.#settleLine(line);
    return newline;
  }

  /** Pops the oldest request in flight; returns its send time, or -1 for an answer nobody asked for. */
  #pop(): number {
    if (this.inflight === 0) return -1;
    const sent = this.#sent[this.#head]!;
    this.#head = (this.#head + 1) & this.#mask;
    this.inflight--;
    return sent;
  }

  /** Whether the answer being settled counts in the measurement (else it is warmup traffic). */
  #measuring(): boolean {
    if (this.#run.phase !== Phase.Measure) return false;
    if (this.#warmupLeft === 0) return true;
    this.#warmupLeft--;
    return false;
  }

  #settleNumber(value: number, digits: number, now: number): void {
    const sent = this.#pop();
    if (sent < 0) {
      this.#unexpected(String(value).padStart(digits, '0'));
      return;
    }
    const run = this.#run;
    const measuring = this.#measuring();
    if (value === run.expected && digits === run.expectedDigits) {
      if (measuring) {
        run.measured.ok++;
        const micros = Math.round((now - sent) * 1000);
        run.latency.record(micros);
        if (run.onAnswer !== undefined) run.onAnswer(micros);
      } else {
        run.warmup.ok++;
      }
    } else {
      (measuring ? run.measured : run.warmup).wrong++;
      const got = digits === String(value).length ? String(value) : String(value).padStart(digits, '0');
      run.problem('wrong', `wrong answer: expected ${run.expected}, got ${got}`);
    }
  }

  #settleLine(line: string): void {
    if (this.#pop() < 0) {
      this.#unexpected(clip(line));
      return;
    }
    const run = this.#run;
    const counters = this.#measuring() ? run.measured : run.warmup;
    if (line.startsWith('ERR ')) {
      try {
        parseAnswer(line);
      } catch (error) {
        if (error instanceof FibError) {
          counters.err[error.code]++;
          run.problem(`err:${error.code}`, `server answered ${line}`);
          return;
        }
      }
    }
    counters.malformed++;
    run.problem('malformed', `malformed answer: ${JSON.stringify(clip(line))}`);
  }

  #unexpected(answer: string): void {
    this.#violation(`answer with no request in flight: ${JSON.stringify(answer)}`, 'unexpected-answer');
  }

  /** The stream can no longer be trusted: count it and drop the connection. */
  #violation(message: string, key: string): void {
    this.#run.measured.malformed++;
    this.#run.problem(key, `protocol violation: ${message}; closing the connection`);
    this.#lose(`closed after a protocol violation`, 'violation');
    this.#socket?.destroy();
  }

  #onClose(error: Error | undefined): void {
    if (!this.#alive) return;
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    // A write into a connection the server already reset fails with EPIPE.
    const reason =
      code === 'ECONNRESET' || code === 'EPIPE'
        ? 'reset by the server'
        : error
          ? `lost: ${error.message}`
          : 'closed by the server';
    this.#lose(`connection ${reason}`, `dropped:${code ?? 'closed'}`);
  }

  #lose(message: string, key: string): void {
    if (!this.#alive) return;
    this.#alive = false;
    this.#run.lost(this, message, key);
  }
}

/** Keeps problem messages to one readable line. */
function clip(line: string): string {
  return line.length > 80 ? `${line.slice(0, 80)}...` : line;
}
