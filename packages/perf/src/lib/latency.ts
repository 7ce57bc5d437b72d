import { build, type Histogram } from 'hdr-histogram-js';

/**
 * Latencies below this many microseconds (65.5 ms) are counted in a flat
 * array, one increment per answer, and folded into the HDR histogram once
 * per interval: at a million answers a second, hdr-histogram-js's ~85 ns per
 * recordValue() would cost the load generator a tenth of its core.
 */
const FAST_LIMIT_MICROS = 65_536;
/** An hour: anything slower is clamped (and still counted) rather than lost. */
const HIGHEST_MICROS = 3_600_000_000;

/** The percentiles of the spectrum (`--latency`, `--json`): wrk2's, plus autocannon's 2.5 and 97.5. */
export const SPECTRUM = [0, 2.5, 10, 25, 50, 75, 90, 97.5, 99, 99.9, 99.99, 99.999, 100] as const;

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  stdev: number;
  p2_5: number;
  p50: number;
  p90: number;
  p97_5: number;
  p99: number;
  p999: number;
  max: number;
  /** The latency at each percentile of SPECTRUM, in order. */
  percentiles: { percentile: number; micros: number }[];
}

/** The latency of one interval, for the per-second series. */
export interface IntervalLatency {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function newHistogram(): Histogram {
  return build({
    bitBucketSize: 64,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_MICROS,
    numberOfSignificantValueDigits: 3,
  });
}

/** HDR histograms of microseconds (3 significant digits), per interval and in total, fed through a flat fast path. */
export class LatencyRecorder {
  /** Float64 counts: exact to 2^53, so no bucket overflows however long the run. */
  readonly #fast = new Float64Array(FAST_LIMIT_MICROS);
  readonly #interval: Histogram = newHistogram();
  readonly #total: Histogram = newHistogram();

  record(micros: number): void {
    if (micros < FAST_LIMIT_MICROS) this.#fast[micros]!++;
    else this.#interval.recordValue(micros < HIGHEST_MICROS ? micros : HIGHEST_MICROS);
  }

  /**
   * Ends the current interval: hands its histogram to `use` (which must not
   * keep it), adds it to the total, and starts the next one empty.
   */
  cut(use?: (interval: Histogram) => void): IntervalLatency {
    const fast = this.#fast;
    const interval = this.#interval;
    for (let micros = 0; micros < FAST_LIMIT_MICROS; micros++) {
      const count = fast[micros]!;
      if (count !== 0) {
        interval.recordValueWithCount(micros, count);
        fast[micros] = 0;
      }
    }
    const count = interval.totalCount;
    const summary =
      count === 0
        ? { count: 0, p50: 0, p99: 0, max: 0 }
        : {
            count,
            p50: interval.getValueAtPercentile(50),
            p99: interval.getValueAtPercentile(99),
            max: interval.maxValue,
          };
    use?.(interval);
    if (count !== 0) this.#total.add(interval);
    interval.reset();
    return summary;
  }

  /** The whole measurement; call after the last cut(). */
  get total(): Histogram {
    return this.#total;
  }

  summary(): LatencySummary {
    return summarize(this.#total);
  }
}

export function summarize(h: Histogram): LatencySummary {
  const at = (p: number) => h.getValueAtPercentile(p);
  if (h.totalCount === 0) {
    return {
      count: 0,
      min: 0,
      mean: 0,
      stdev: 0,
      p2_5: 0,
      p50: 0,
      p90: 0,
      p97_5: 0,
      p99: 0,
      p999: 0,
      max: 0,
      percentiles: SPECTRUM.map((percentile) => ({ percentile, micros: 0 })),
    };
  }
  return {
    count: h.totalCount,
    min: at(0),
    mean: round(h.mean),
    stdev: round(h.stdDeviation),
    p2_5: at(2.5),
    p50: at(50),
    p90: at(90),
    p97_5: at(97.5),
    p99: at(99),
    p999: at(99.9),
    max: h.maxValue,
    percentiles: SPECTRUM.map((percentile) => ({ percentile, micros: at(percentile) })),
  };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
