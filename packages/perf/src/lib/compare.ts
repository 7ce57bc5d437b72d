import { readFileSync } from 'node:fs';
import { formatTable } from './report.js';
import { sampleStats, welchTest } from './welch.js';

/** What compare needs from a `--json` file; older files without `series` still give the rate. */
interface RunFile {
  tool?: string;
  seconds?: number;
  rate: { mean: number; perSecond: number[] };
  series?: { latencyMicros: { count: number; p50: number; p99: number } }[];
}

export interface Metric {
  name: string;
  unit: 'reqs/sec' | 'us';
  /** Whether a larger value is better (rate) or worse (latency). */
  higherIsBetter: boolean;
  a: number;
  b: number;
  /** (b - a) / a. */
  change: number;
  /** Null when a side has fewer than two per-second samples. */
  p: number | null;
  significant: boolean;
  /** Significant, in the bad direction, and by more than the threshold. */
  regressed: boolean;
}

export interface Comparison {
  a: string;
  b: string;
  samples: { a: number; b: number };
  alpha: number;
  threshold: number;
  metrics: Metric[];
  regressed: boolean;
}

export class CompareInputError extends Error {
  override name = 'CompareInputError';
}

export function readRunFile(path: string): RunFile {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new CompareInputError(`cannot read ${path}: ${reason}`);
  }
  const rate = (data as RunFile | null)?.rate;
  if (rate === undefined || !Array.isArray(rate.perSecond) || typeof rate.mean !== 'number') {
    throw new CompareInputError(`${path} is not the --json output of fib-perf1 or fib-perf2 (no rate.perSecond)`);
  }
  return data as RunFile;
}

/** The per-second medians of seconds that had answers (a second without any has no latency). */
function latencySamples(run: RunFile, key: 'p50' | 'p99'): number[] {
  return (run.series ?? []).filter((s) => s.latencyMicros.count > 0).map((s) => s.latencyMicros[key]);
}

function metric(
  name: string,
  unit: Metric['unit'],
  higherIsBetter: boolean,
  a: readonly number[],
  b: readonly number[],
  alpha: number,
  threshold: number,
  overall?: { a: number; b: number },
): Metric | null {
  if (a.length === 0 || b.length === 0) {
    if (overall === undefined) return null;
  }
  const meanA = a.length > 0 ? sampleStats(a).mean : overall!.a;
  const meanB = b.length > 0 ? sampleStats(b).mean : overall!.b;
  const test = welchTest(a, b);
  const change = meanA === 0 ? (meanB === 0 ? 0 : Infinity) : (meanB - meanA) / meanA;
  const significant = test !== null && test.p < alpha;
  const worse = higherIsBetter ? change < -threshold : change > threshold;
  return {
    name,
    unit,
    higherIsBetter,
    a: meanA,
    b: meanB,
    change,
    p: test?.p ?? null,
    significant,
    regressed: significant && worse,
  };
}

/**
 * Compares run b with run a, as autocannon-compare does: Welch's t-test on
 * the per-second samples tells a real difference from noise; a regression
 * is a significant change in the bad direction by more than `threshold`.
 */
export function compareRuns(
  a: { path: string; run: RunFile },
  b: { path: string; run: RunFile },
  alpha: number,
  threshold: number,
): Comparison {
  const metrics = [
    metric('rate', 'reqs/sec', true, a.run.rate.perSecond, b.run.rate.perSecond, alpha, threshold, {
      a: a.run.rate.mean,
      b: b.run.rate.mean,
    }),
    metric('p50 latency', 'us', false, latencySamples(a.run, 'p50'), latencySamples(b.run, 'p50'), alpha, threshold),
    metric('p99 latency', 'us', false, latencySamples(a.run, 'p99'), latencySamples(b.run, 'p99'), alpha, threshold),
  ].filter((m): m is Metric => m !== null);
  return {
    a: a.path,
    b: b.path,
    samples: { a: a.run.rate.perSecond.length, b: b.run.rate.perSecond.length },
    alpha,
    threshold,
    metrics,
    regressed: metrics.some((m) => m.regressed),
  };
}

function value(m: Metric, x: number): string {
  return m.unit === 'us' ? `${Math.round(x)} us` : Math.round(x).toLocaleString('en-US');
}

export function formatComparison(c: Comparison, tool: string): string {
  const rows = [['', 'a', 'b', 'change', 'p-value', 'verdict']];
  for (const m of c.metrics) {
    const change = Number.isFinite(m.change) ? `${m.change >= 0 ? '+' : ''}${(m.change * 100).toFixed(1)} %` : 'n/a';
    const verdict =
      m.p === null
        ? 'not tested'
        : m.regressed
          ? 'REGRESSED'
          : !m.significant
            ? 'no significant difference'
            : m.change > 0 === m.higherIsBetter
              ? 'improved'
              : 'worse, within threshold';
    rows.push([
      `${m.name} (${m.unit})`,
      value(m, m.a),
      value(m, m.b),
      change,
      m.p === null ? '-' : formatP(m.p),
      verdict,
    ]);
  }
  const lines = [
    `${tool} compare: a = ${c.a} (${c.samples.a} s), b = ${c.b} (${c.samples.b} s)`,
    ...formatTable(rows),
    `Welch's t-test on the per-second samples; significant below p = ${c.alpha}; a regression is significant and worse by more than ${(c.threshold * 100).toFixed(1)} %.`,
  ];
  if (c.samples.a < 2 || c.samples.b < 2) {
    lines.push('Runs need two full seconds each for a test: measure longer (--duration).');
  }
  lines.push(c.regressed ? 'Result: b REGRESSED against a.' : 'Result: no significant regression.');
  return lines.join('\n') + '\n';
}

function formatP(p: number): string {
  return p < 0.0001 ? '< 0.0001' : p.toFixed(4);
}
