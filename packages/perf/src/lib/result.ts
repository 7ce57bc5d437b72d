import type { ErrorCode } from '@fib/protocol';
import type { IntervalLatency, LatencySummary } from './latency.js';
import type { ResolvedOptions, Tick } from './options.js';
import type { Counters } from './stats.js';

/**
 * Why a run ended: its --duration passed, its --requests were all answered,
 * it was interrupted (Ctrl-C or the AbortSignal), the server dropped every
 * connection, or none could be opened.
 */
export type StopReason = 'duration' | 'requests' | 'signal' | 'connections-lost' | 'connect-failed';

/** Outcome of requests, by kind of failure. */
export interface Outcomes {
  ok: number;
  /** Requests that did not get a correct answer: the sum of the four kinds below. */
  failed: number;
  /** `ERR <code>` answers, by code. */
  err: Record<ErrorCode, number>;
  /** Numbers that are not fib(n). */
  wrong: number;
  /** Lines that are neither a number nor an `ERR` line, and answers nobody asked for. */
  malformed: number;
  /** Requests in flight on a connection the server closed or reset. */
  lost: number;
}

/** One full second of a measurement: its tick, and the latency of the answers it brought. */
export interface SecondOfRun extends Tick {
  latencyMicros: IntervalLatency;
}

/** The spread of the per-second rates: the minimum is what shows a stall or a convoy. */
export interface RateStats {
  min: number;
  p2_5: number;
  p50: number;
  mean: number;
  stdev: number;
  max: number;
}

/** The summary of one run: the `--json` object. Latencies are in microseconds. */
export interface LoadResult {
  target: { host: string; port: number };
  options: Pick<
    ResolvedOptions,
    'n' | 'connections' | 'pipeline' | 'duration' | 'requests' | 'rate' | 'arrivals' | 'warmup'
  >;
  stopReason: StopReason;
  /** Length of the measurement in seconds (the warmup excluded). */
  seconds: number;
  /** Requests answered (or lost) while measuring. */
  requests: Outcomes & {
    /** Requests still in flight when the run stopped: neither counted as ok nor as failed. */
    unanswered: number;
  };
  /**
   * Correct answers per second: over the whole measurement, the best
   * one-second interval, each interval, and their spread (null before the
   * first full second).
   */
  rate: { mean: number; peak: number; perSecond: number[]; stats: RateStats | null };
  /** Each full second: its rate, failures and latency. */
  series: SecondOfRun[];
  /** Latency of correct answers, from the (intended) send time to the read that brought the answer. */
  latencyMicros: LatencySummary;
  warmup: { seconds: number } & Outcomes;
  connections: { opened: number; failed: number; dropped: number };
  /** One line per distinct problem seen, in order of first occurrence. */
  problems: string[];
}

interface Parts {
  options: ResolvedOptions;
  stopReason: StopReason;
  seconds: number;
  measured: Counters;
  warmup: Counters;
  warmupSeconds: number;
  unanswered: number;
  latency: LatencySummary;
  series: SecondOfRun[];
  connections: LoadResult['connections'];
  problems: string[];
}

export function buildResult(parts: Parts): LoadResult {
  const { options, measured, seconds } = parts;
  const mean = seconds > 0 ? Math.round(measured.ok / seconds) : 0;
  const perSecond = parts.series.map((s) => s.rate);
  return {
    target: { host: options.host, port: options.port },
    options: {
      n: options.n,
      connections: options.connections,
      pipeline: options.pipeline,
      duration: options.duration,
      requests: options.requests,
      rate: options.rate,
      arrivals: options.arrivals,
      warmup: options.warmup,
    },
    stopReason: parts.stopReason,
    seconds: Math.round(seconds * 1000) / 1000,
    requests: { ...outcomes(measured), unanswered: parts.unanswered },
    // A run shorter than one second has no full interval: its mean is its best.
    rate: {
      mean,
      peak: perSecond.reduce((a, b) => (a > b ? a : b), mean),
      perSecond,
      stats: rateStats(perSecond),
    },
    series: parts.series,
    latencyMicros: parts.latency,
    warmup: { seconds: parts.warmupSeconds, ...outcomes(parts.warmup) },
    connections: parts.connections,
    problems: parts.problems,
  };
}

function outcomes(counters: Counters): Outcomes {
  return {
    ok: counters.ok,
    failed: counters.failed,
    err: { ...counters.err },
    wrong: counters.wrong,
    malformed: counters.malformed,
    lost: counters.lost,
  };
}

/** min, 2.5th percentile, median, mean, standard deviation and max of the per-second rates. */
export function rateStats(samples: readonly number[]): RateStats | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  const variance = sorted.length < 2 ? 0 : sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / (sorted.length - 1);
  return {
    min: sorted[0]!,
    p2_5: nearestRank(sorted, 2.5),
    p50: nearestRank(sorted, 50),
    mean: Math.round(mean),
    stdev: Math.round(Math.sqrt(variance)),
    max: sorted.at(-1)!,
  };
}

/** The nearest-rank percentile of sorted samples: always one of them, as HdrHistogram reports. */
function nearestRank(sorted: readonly number[], percentile: number): number {
  const rank = Math.ceil((percentile / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}
