import type { ErrorCode } from '@fib/protocol';
import type { LatencySummary } from './latency.js';
import type { ResolvedOptions } from './options.js';
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

/** The summary of one run: the `--json` object. Latencies are in microseconds. */
export interface LoadResult {
  target: { host: string; port: number };
  options: Pick<ResolvedOptions, 'n' | 'connections' | 'pipeline' | 'duration' | 'requests' | 'rate' | 'warmup'>;
  stopReason: StopReason;
  /** Length of the measurement in seconds (the warmup excluded). */
  seconds: number;
  /** Requests answered (or lost) while measuring. */
  requests: Outcomes & {
    /** Requests still in flight when the run stopped: neither counted as ok nor as failed. */
    unanswered: number;
  };
  /** Correct answers per second: over the whole measurement, the best one-second interval, and each interval. */
  rate: { mean: number; peak: number; perSecond: number[] };
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
  perSecond: number[];
  connections: LoadResult['connections'];
  problems: string[];
}

export function buildResult(parts: Parts): LoadResult {
  const { options, measured, seconds } = parts;
  const mean = seconds > 0 ? Math.round(measured.ok / seconds) : 0;
  return {
    target: { host: options.host, port: options.port },
    options: {
      n: options.n,
      connections: options.connections,
      pipeline: options.pipeline,
      duration: options.duration,
      requests: options.requests,
      rate: options.rate,
      warmup: options.warmup,
    },
    stopReason: parts.stopReason,
    seconds: Math.round(seconds * 1000) / 1000,
    requests: { ...outcomes(measured), unanswered: parts.unanswered },
    // A run shorter than one second has no full interval: its mean is its best.
    rate: { mean, peak: parts.perSecond.reduce((a, b) => (a > b ? a : b), mean), perSecond: parts.perSecond },
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
