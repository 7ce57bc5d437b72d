import { Connection, Phase, type RunContext } from './connection.js';
import { LatencyRecorder } from './latency.js';
import { resolveOptions, type LoadOptions, type ResolvedOptions } from './options.js';
import { buildResult, type LoadResult, type SecondOfRun, type StopReason } from './result.js';
import { Counters } from './stats.js';

/** How long a connection may take to close after we half-close it at the end of a run. */
const CLOSE_GRACE_MS = 1000;
/** Progress and per-second rates: once a second, as the original perf2 printed. */
const TICK_MS = 1000;
/**
 * How early a run may end and still count its last second as full: a busy
 * machine fires the one-second timer a few ms late, and the duration timer may
 * then come first. Its rate is computed over its real length either way.
 */
const TICK_SLACK_MS = 20;
/** Distinct problems kept in a result; beyond that they are only counted. */
const MAX_PROBLEMS = 20;

/**
 * fib(n) for checking answers. The servers must use the naive recursion (it is
 * their workload); the client only needs the value, once per run, so a loop
 * gives the same number at no cost, exact up to n = 78.
 */
export function expectedFib(n: number): number {
  let a = 0;
  let b = 1;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

/**
 * Runs one load test and resolves with its result. It never rejects for what
 * the server does (refused connections, resets, ERR or wrong answers are
 * counted in the result); it rejects only for invalid options (a TypeError or RangeError naming `options.x`).
 */
export async function runLoad(options: LoadOptions = {}, defaults: { n?: number } = {}): Promise<LoadResult> {
  const resolved = resolveOptions(options, defaults);
  return new Run(resolved, options).start();
}

class Run implements RunContext {
  readonly options: ResolvedOptions;
  phase: Phase = Phase.Connecting;
  readonly pipeline: number;
  readonly expected: number;
  readonly expectedDigits: number;
  readonly measured = new Counters();
  readonly warmup = new Counters();
  readonly latency = new LatencyRecorder();
  readonly onAnswer: ((latencyMicros: number) => void) | undefined;
  readonly #onTick: LoadOptions['onTick'];
  readonly #onInterval: LoadOptions['onInterval'];
  readonly #onProblem: LoadOptions['onProblem'];
  readonly #signal: AbortSignal | undefined;

  /** `n\n` repeated `pipeline` times; a batch of k requests is a view of its first k. */
  readonly #requestBytes: Buffer;
  readonly #requestViews: (Buffer | undefined)[];
  readonly #requestLength: number;
  #budget: number;
  /** Milliseconds between two requests of one connection at a fixed rate; 0 in a closed loop. */
  readonly #interval: number;
  readonly #poisson: boolean;

  #connections: Connection[] = [];
  #connectFailures = 0;
  #dropped = 0;
  readonly #problems: string[] = [];
  readonly #problemKeys = new Set<string>();
  #problemsOverflow = 0;

  #measureStart = 0;
  #measureEnd = 0;
  #warmupSeconds = 0;
  #unanswered = 0;
  readonly #series: SecondOfRun[] = [];
  #lastTickAt = 0;
  #lastTickOk = 0;
  #lastTickFailed = 0;

  #timers: NodeJS.Timeout[] = [];
  #scheduleTimer: NodeJS.Timeout | undefined;
  #scheduleAt = Infinity;
  #stopReason: StopReason | null = null;
  #stopped!: () => void;
  readonly #done = new Promise<void>((resolve) => (this.#stopped = resolve));

  constructor(options: ResolvedOptions, raw: LoadOptions) {
    this.options = options;
    this.pipeline = options.pipeline;
    this.expected = expectedFib(options.n);
    this.expectedDigits = String(this.expected).length;
    this.onAnswer = raw.onAnswer;
    this.#onTick = raw.onTick;
    this.#onInterval = raw.onInterval;
    this.#onProblem = raw.onProblem;
    this.#signal = raw.signal;
    const request = `${options.n}\n`;
    this.#requestLength = request.length;
    this.#requestBytes = Buffer.from(request.repeat(options.pipeline), 'latin1');
    this.#requestViews = new Array(options.pipeline + 1);
    this.#budget = options.requests ?? Infinity;
    this.#interval = options.rate === null ? 0 : (1000 * options.connections) / options.rate;
    this.#poisson = options.arrivals === 'poisson';
  }

  async start(): Promise<LoadResult> {
    const { host, port, connections, connectTimeout } = this.options;
    const onAbort = () => this.stop('signal');
    if (this.#signal?.aborted) return this.#finish('signal');
    this.#signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const attempts = Array.from({ length: connections }, () => new Connection(this));
      const outcomes = await Promise.allSettled(attempts.map((c) => c.open(host, port, connectTimeout)));
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') {
          this.#connections.push(attempts[i]!);
        } else {
          this.#connectFailures++;
          const { code, message } = outcome.reason as NodeJS.ErrnoException;
          this.problem(
            `connect:${code ?? message}`,
            `cannot connect to ${host}:${port}: ${describeError(outcome.reason)}`,
          );
        }
      });
      if (this.#connections.length === 0) return this.#finish('connect-failed');
      if (this.#connections.every((c) => !c.alive)) this.stop('connections-lost');
      if (this.#stopReason !== null) {
        this.#shutdown(); // stopped while connecting: close what did open
        await this.#done;
        return this.#finish(this.#stopReason);
      }
      if (this.options.warmup > 0) {
        this.phase = Phase.Warmup;
        this.#warmupSeconds = this.options.warmup;
        this.#begin(performance.now(), false);
        this.#timers.push(setTimeout(() => this.#beginMeasure(), this.options.warmup * 1000));
      } else {
        this.#beginMeasure();
      }
      await this.#done;
      return this.#finish(this.#stopReason!);
    } finally {
      this.#signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Ends the run (idempotent): stop sending, stop counting, close the connections. */
  stop(reason: StopReason): void {
    if (this.#stopReason !== null) return;
    this.#stopReason = reason;
    if (this.phase !== Phase.Connecting) this.#shutdown(); // else start() does, once the connects settle
  }

  #shutdown(): void {
    const wasMeasuring = this.phase === Phase.Measure;
    const now = performance.now();
    // A --duration of whole seconds ends on a tick, give or take a late timer: keep that last full second.
    if (wasMeasuring && now - this.#measureStart >= (this.#series.length + 1) * TICK_MS - TICK_SLACK_MS) this.#tick();
    // The part-second at the end counts in the totals, not in the per-second series.
    else if (wasMeasuring) this.#cutLatency(this.#lastTickAt, now);
    this.phase = Phase.Stopped;
    this.#measureEnd = wasMeasuring ? now : this.#measureStart;
    for (const timer of this.#timers) clearTimeout(timer);
    clearTimeout(this.#scheduleTimer);
    let behind = 0;
    for (const c of this.#connections) {
      if (c.alive && wasMeasuring) this.#unanswered += c.measuredInflight;
      if (wasMeasuring) behind += c.behind(now);
    }
    // Latency from the intended send times already shows it; this says why.
    behind = Math.min(behind, this.#budget);
    if (behind > Math.max(this.options.connections, this.measured.ok / 100)) {
      this.problem(
        'behind',
        `fell behind the --rate schedule: ${behind} requests were due but not sent ` +
          '(the pipeline was full: raise --pipeline, or the server is saturated)',
      );
    }
    void Promise.all(this.#connections.map((c) => c.close(CLOSE_GRACE_MS))).then(this.#stopped);
  }

  #beginMeasure(): void {
    if (this.#stopReason !== null) return;
    this.phase = Phase.Measure;
    const now = performance.now();
    this.#measureStart = now;
    this.#lastTickAt = now;
    const { duration } = this.options;
    if (duration !== null) this.#timers.push(setTimeout(() => this.stop('duration'), duration * 1000));
    const ticker = setInterval(() => this.#tick(), TICK_MS);
    this.#timers.push(ticker);
    this.#begin(now, true);
    if (this.#budget === 0) this.drained();
  }

  /** Starts (or, after the warmup, restarts) the load on every connection. */
  #begin(now: number, measuring: boolean): void {
    const live = this.#connections.filter((c) => c.alive);
    live.forEach((c, i) => {
      // At a fixed rate, connections are staggered so that requests are spread evenly over time.
      const offset = (this.#interval * i) / live.length;
      if (measuring) c.beginMeasure(now, this.#interval, offset, this.#poisson);
      else c.startSchedule(now + offset, this.#interval, this.#poisson);
    });
    if (this.#interval === 0) {
      for (const c of live) c.refill();
    } else {
      this.#schedule();
    }
  }

  /** Fixed rate: sends what is due on every connection, then sleeps until the next due request. */
  #schedule = (): void => {
    clearTimeout(this.#scheduleTimer);
    this.#scheduleTimer = undefined;
    this.#scheduleAt = Infinity;
    if (this.phase !== Phase.Warmup && this.phase !== Phase.Measure) return;
    const now = performance.now();
    let next = Infinity;
    for (const c of this.#connections) {
      c.pump(now);
      const due = c.nextDue();
      if (due < next) next = due;
    }
    if (next !== Infinity && this.#budget > 0) this.#arm(next, now);
  };

  #arm(at: number, now: number): void {
    if (at >= this.#scheduleAt) return;
    clearTimeout(this.#scheduleTimer);
    this.#scheduleAt = at;
    this.#scheduleTimer = setTimeout(this.#schedule, Math.max(0, at - now));
  }

  #tick(): void {
    const now = performance.now();
    const ok = this.measured.ok;
    const failed = this.measured.failed;
    const elapsed = (now - this.#lastTickAt) / 1000;
    const rate = Math.round((ok - this.#lastTickOk) / elapsed);
    const tick = {
      elapsed: round((now - this.#measureStart) / 1000, 3),
      rate,
      failed: failed - this.#lastTickFailed,
      total: ok,
    };
    this.#series.push({ ...tick, latencyMicros: this.#cutLatency(this.#lastTickAt, now) });
    this.#lastTickAt = now;
    this.#lastTickOk = ok;
    this.#lastTickFailed = failed;
    this.#onTick?.(tick);
  }

  /** Ends a latency interval (performance.now() times) and reports it in epoch milliseconds. */
  #cutLatency(start: number, end: number) {
    const onInterval = this.#onInterval;
    if (onInterval === undefined) return this.latency.cut();
    const origin = performance.timeOrigin;
    return this.latency.cut((histogram) => onInterval({ startMs: origin + start, endMs: origin + end, histogram }));
  }

  // --- RunContext, called by the connections ---

  requests(count: number): Buffer {
    this.#requestViews[count] ??= this.#requestBytes.subarray(0, count * this.#requestLength);
    return this.#requestViews[count];
  }

  take(wanted: number): number {
    if (this.phase === Phase.Warmup) return wanted;
    const budget = this.#budget;
    if (wanted <= budget) {
      this.#budget = budget - wanted;
      return wanted;
    }
    this.#budget = 0;
    return budget;
  }

  wake(at: number): void {
    if (at !== Infinity && this.#budget > 0) this.#arm(at, performance.now());
  }

  drained(): void {
    if (this.phase !== Phase.Measure || this.#budget !== 0) return;
    for (const c of this.#connections) if (c.alive && c.inflight !== 0) return;
    this.stop('requests');
  }

  problem(key: string, message: string): void {
    if (this.#problemKeys.has(key)) return;
    if (this.#problemKeys.size >= MAX_PROBLEMS) {
      this.#problemsOverflow++;
      return;
    }
    this.#problemKeys.add(key);
    this.#problems.push(message);
    this.#onProblem?.(message);
  }

  lost(connection: Connection, message: string, key: string): void {
    this.#dropped++;
    this.measured.lost += connection.measuredInflight;
    this.warmup.lost += connection.warmupInflight;
    connection.inflight = 0;
    this.problem(key, message);
    if (this.phase === Phase.Connecting) return; // start() checks once the connects settle
    if (this.#connections.every((c) => !c.alive)) this.stop('connections-lost');
    else this.drained();
  }

  #finish(reason: StopReason): LoadResult {
    const measured = this.phase === Phase.Stopped && this.#measureEnd > this.#measureStart;
    return buildResult({
      options: this.options,
      stopReason: reason,
      seconds: measured ? (this.#measureEnd - this.#measureStart) / 1000 : 0,
      measured: this.measured,
      warmup: this.warmup,
      warmupSeconds: this.#warmupSeconds,
      unanswered: this.#unanswered,
      latency: this.latency.summary(),
      series: this.#series,
      connections: {
        opened: this.#connections.length,
        failed: this.#connectFailures,
        dropped: this.#dropped,
      },
      problems:
        this.#problemsOverflow > 0
          ? [...this.#problems, `(${this.#problemsOverflow} more kinds of problems not listed)`]
          : [...this.#problems],
    });
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** "connection refused (ECONNREFUSED)" rather than a stack trace. */
export function describeError(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const plain: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'timed out',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host name lookup failed',
    EADDRNOTAVAIL: 'address not available',
  };
  if (code !== undefined && plain[code] !== undefined) return `${plain[code]} (${code})`;
  return message || String(error);
}
