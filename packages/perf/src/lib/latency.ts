import { build, type Histogram } from 'hdr-histogram-js';

/**
 * Latencies below this many microseconds (65.5 ms) are counted in a flat
 * array, one increment per answer, and folded into the HDR histogram when the
 * run ends: at a million answers a second, hdr-histogram-js's ~85 ns per
 * recordValue() would cost the load generator a tenth of its core.
 */
const FAST_LIMIT_MICROS = 65_536;
/** An hour: anything slower is clamped (and still counted) rather than lost. */
const HIGHEST_MICROS = 3_600_000_000;

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  stdev: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** An HDR histogram of microseconds (3 significant digits), fed through a flat fast path. */
export class LatencyRecorder {
  /** Float64 counts: exact to 2^53, so no bucket overflows however long the run. */
  readonly #fast = new Float64Array(FAST_LIMIT_MICROS);
  readonly #histogram: Histogram = build({
    bitBucketSize: 64,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_MICROS,
    numberOfSignificantValueDigits: 3,
  });

  record(micros: number): void {
    if (micros < FAST_LIMIT_MICROS) this.#fast[micros]!++;
    else this.#histogram.recordValue(micros < HIGHEST_MICROS ? micros : HIGHEST_MICROS);
  }

  summary(): LatencySummary {
    const fast = this.#fast;
    for (let micros = 0; micros < FAST_LIMIT_MICROS; micros++) {
      const count = fast[micros]!;
      if (count !== 0) {
        this.#histogram.recordValueWithCount(micros, count);
        fast[micros] = 0;
      }
    }
    const h = this.#histogram;
    if (h.totalCount === 0) {
      return { count: 0, min: 0, mean: 0, stdev: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    }
    return {
      count: h.totalCount,
      min: h.getValueAtPercentile(0),
      mean: round(h.mean),
      stdev: round(h.stdDeviation),
      p50: h.getValueAtPercentile(50),
      p90: h.getValueAtPercentile(90),
      p99: h.getValueAtPercentile(99),
      p999: h.getValueAtPercentile(99.9),
      max: h.maxValue,
    };
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
