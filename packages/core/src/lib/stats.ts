import { ERROR_CODES, type ErrorCode } from '@fib/protocol';

/**
 * Request counters and histograms kept as plain numbers in typed arrays: the
 * hot path adds to them without allocating, and prom-client reads them only
 * when Prometheus scrapes (see metrics.ts). A snapshot is plain JSON, so a
 * child process can send its counts to the parent over IPC.
 */

/** `fib_requests_total{code}`: `ok`, then every ERR code, in this order. */
export const REQUEST_CODES = ['ok', ...ERROR_CODES] as const;
export type RequestCode = (typeof REQUEST_CODES)[number];

/** Index of each code in `RequestStats.codes`. */
export const CODE_OK = 0;
const CODE_INDEX: ReadonlyMap<string, number> = new Map(REQUEST_CODES.map((code, i) => [code, i]));

export function codeIndex(code: RequestCode | ErrorCode): number {
  return CODE_INDEX.get(code)!;
}

/**
 * Upper bounds, in seconds, from 10 µs (a fib(1) answered on the event loop
 * takes a few) to 30 s (a fib(45) or so; anything longer lands in +Inf), in
 * the usual 1, 2.5, 5 steps.
 */
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  5, 10, 30,
]);

export interface HistogramSnapshot {
  /** Observations per bucket (not cumulative); the last one counts those above every bound. */
  readonly counts: number[];
  readonly sum: number;
}

/** A histogram without labels over fixed bounds. */
export class HistogramData {
  readonly bounds: Float64Array;
  /** Per bucket, not cumulative; `counts[bounds.length]` is above every bound. */
  readonly counts: Float64Array;
  sum = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = Float64Array.from(bounds);
    this.counts = new Float64Array(bounds.length + 1);
  }

  /**
   * Adds `times` observations of `seconds`. A linear scan: the bounds are
   * few and most requests land in the first buckets.
   */
  observe(seconds: number, times = 1): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.counts[i]! += times;
    this.sum += seconds * times;
  }

  get count(): number {
    let total = 0;
    for (const n of this.counts) total += n;
    return total;
  }

  snapshot(): HistogramSnapshot {
    return { counts: Array.from(this.counts), sum: this.sum };
  }

  /** Adds another histogram's observations (same bounds). */
  merge(other: HistogramSnapshot): void {
    if (other.counts.length !== this.counts.length) {
      throw new RangeError(`histogram snapshot has ${other.counts.length} buckets, expected ${this.counts.length}`);
    }
    for (let i = 0; i < other.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.sum += other.sum;
  }
}

export interface RequestStatsSnapshot {
  /** Per code, in REQUEST_CODES order. */
  readonly codes: number[];
  readonly duration: HistogramSnapshot;
  readonly queueWait: HistogramSnapshot;
}

/** What one server (or one worker process) counts about its requests. */
export class RequestStats {
  /** Answers decided, per code, in REQUEST_CODES order. */
  readonly codes = new Float64Array(REQUEST_CODES.length);
  /** From the read that brought a request to the write of its answer. */
  readonly duration = new HistogramData(LATENCY_BUCKETS);
  /** How long a job waited for a free worker, where the strategy has a queue. */
  readonly queueWait = new HistogramData(LATENCY_BUCKETS);

  snapshot(): RequestStatsSnapshot {
    return { codes: Array.from(this.codes), duration: this.duration.snapshot(), queueWait: this.queueWait.snapshot() };
  }

  /** Adds what a child process counted. */
  merge(other: RequestStatsSnapshot): void {
    if (other.codes.length !== this.codes.length) {
      throw new RangeError(`stats snapshot has ${other.codes.length} codes, expected ${this.codes.length}`);
    }
    for (let i = 0; i < other.codes.length; i++) this.codes[i]! += other.codes[i]!;
    this.duration.merge(other.duration);
    this.queueWait.merge(other.queueWait);
  }
}
