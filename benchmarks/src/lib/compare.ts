import { RATIO_UNIT, type BenchmarkEntry } from './entries.js';

/**
 * Ratios this close to the baseline never count, whatever the threshold: a
 * strategy that keeps 0.4% of its rate under load and then keeps 0.2% has not
 * regressed in any way a reader cares about, though it lost half.
 */
const MIN_ABSOLUTE_LOSS = 0.02;

/** Baseline figures the run did not measure are listed up to this many (a --strategies subset leaves out dozens). */
const MISSING_SHOWN = 4;

export interface Regression {
  name: string;
  baseline: number;
  current: number;
  /** Fraction lost, 0.25 for a quarter. */
  loss: number;
  extra?: string;
}

export interface Comparison {
  threshold: number;
  compared: number;
  regressions: Regression[];
  /** Baseline ratios the current results do not have (a strategy or scenario not run). */
  missing: string[];
}

/**
 * Compares the ratio figures (unit "x", bigger is better) of two results.json
 * arrays. Absolute rates and latencies are left out: they move with the
 * machine, while ratios measured in the same run mostly do not.
 */
export function compareEntries(baseline: BenchmarkEntry[], current: BenchmarkEntry[], threshold: number): Comparison {
  const now = new Map(current.filter((e) => e.unit === RATIO_UNIT).map((e) => [e.name, e]));
  const regressions: Regression[] = [];
  const missing: string[] = [];
  let compared = 0;
  for (const base of baseline) {
    if (base.unit !== RATIO_UNIT) continue;
    const entry = now.get(base.name);
    if (entry === undefined) {
      missing.push(base.name);
      continue;
    }
    compared++;
    const lostTooMuch = entry.value < base.value * (1 - threshold);
    if (lostTooMuch && base.value - entry.value >= MIN_ABSOLUTE_LOSS) {
      regressions.push({
        name: base.name,
        baseline: base.value,
        current: entry.value,
        loss: 1 - entry.value / base.value,
        ...(entry.extra === undefined ? {} : { extra: entry.extra }),
      });
    }
  }
  return { threshold, compared, regressions, missing };
}

export function formatComparison(c: Comparison, baselinePath: string): string {
  const lines = [
    `compare with ${baselinePath}: ${c.compared} ratios, threshold ${Math.round(c.threshold * 100)}%, ` +
      (c.regressions.length === 0 ? 'no regression' : `${c.regressions.length} regressed`),
  ];
  for (const r of c.regressions) {
    lines.push(
      `  REGRESSED ${r.name}: ${r.baseline} -> ${r.current} (-${Math.round(r.loss * 100)}%)` +
        (r.extra === undefined ? '' : ` [${r.extra}]`),
    );
  }
  if (c.missing.length > 0) {
    const shown = c.missing.slice(0, MISSING_SHOWN).join('; ');
    const more = c.missing.length > MISSING_SHOWN ? `; and ${c.missing.length - MISSING_SHOWN} more` : '';
    lines.push(`  not measured in this run (${c.missing.length}): ${shown}${more}`);
  }
  return lines.join('\n');
}

/** Reads a results.json, checking just enough of its shape to compare it. */
export function parseEntries(text: string, path: string): BenchmarkEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(data)) throw new Error(`${path}: expected an array of {name, unit, value}`);
  return data.map((item: unknown, i) => {
    const e = item as Partial<BenchmarkEntry> | null;
    if (
      e === null ||
      typeof e !== 'object' ||
      typeof e.name !== 'string' ||
      typeof e.unit !== 'string' ||
      typeof e.value !== 'number' ||
      !Number.isFinite(e.value)
    ) {
      throw new Error(`${path}: entry ${i} is not {name: string, unit: string, value: number}`);
    }
    return { name: e.name, unit: e.unit, value: e.value, ...(typeof e.extra === 'string' ? { extra: e.extra } : {}) };
  });
}
