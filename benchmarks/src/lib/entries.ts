import { isSequential, ratios, sequentialFor, type StrategyOutcome } from './outcome.js';
import type { Scenario } from './options.js';
import { SCALING_N, SLOW_N } from './scenarios.js';

/**
 * One figure in the shape github-action-benchmark reads with its
 * `customBiggerIsBetter` tool: https://github.com/benchmark-action/github-action-benchmark
 * Every figure here is oriented so that bigger is better (the latency ratio
 * is written alone/loaded), so one file serves one tool.
 */
export interface BenchmarkEntry {
  name: string;
  unit: string;
  value: number;
  extra?: string;
}

/** The unit of ratios measured within one round of one server: the only figures the --compare gate looks at. */
export const RATIO_UNIT = 'x';
/**
 * The unit of E's speed-up over sequential: it divides two servers' figures
 * measured minutes apart, so it moves with the machine as absolute figures
 * do (25-45% between two full runs on the 2-core dev VM), and the gate leaves it out.
 */
export const UNPAIRED_RATIO_UNIT = 'x (unpaired)';

const round = (value: number, digits: number) => Number(value.toFixed(digits));

/** Names are stable across runs and durations: the gate matches figures by name. */
export const entryNames = (strategy: string) => ({
  a: `${strategy} A: perf2 rate alone`,
  b: `${strategy} B: perf2 rate while a client loops fib(${SLOW_N})`,
  ba: `${strategy} B/A: perf2 rate kept under a fib(${SLOW_N}) loop`,
  cd: `${strategy} C/D: perf1 fib(${SLOW_N}) p50 alone / with two fib(${SLOW_N}) loops`,
  e: `${strategy} E: fib(${SCALING_N}) answers/s at the most connections`,
  eScaling: `${strategy} E: scaling, most connections / one`,
  eVsSequential: `${strategy} E: speed-up over sequential`,
});

export function benchmarkEntries(outcomes: StrategyOutcome[], scenarios: readonly Scenario[]): BenchmarkEntry[] {
  const has = (s: Scenario) => scenarios.includes(s);
  const entries: BenchmarkEntry[] = [];
  for (const outcome of outcomes) {
    const names = entryNames(outcome.name);
    const sequential = sequentialFor(outcome, outcomes);
    const r = ratios(outcome, sequential);
    const { A, B, C, D, E } = outcome.scenarios;
    // A strategy that failed keeps its ratio figures, at 0, so that the gate
    // names it instead of silently comparing nothing.
    const failed = outcome.status === 'failed' ? `failed: ${outcome.error}` : undefined;
    const ratio = (name: string, value: number | null, extra: string | undefined, unit = RATIO_UNIT) => {
      if (value === null && failed === undefined) return;
      entries.push({ name, unit, value: value === null ? 0 : round(value, 4), ...withExtra(failed ?? extra) });
    };
    if (A) entries.push({ name: names.a, unit: 'req/s', value: A.run.rate });
    if (B) entries.push({ name: names.b, unit: 'req/s', value: B.run.rate });
    if (has('A') && has('B')) {
      ratio(names.ba, r.ba, A && B ? `A ${A.run.rate} req/s, B ${B.run.rate} req/s` : undefined);
    }
    if (has('C') && has('D')) {
      const cd = r.dc === null ? null : r.dc === Infinity ? 0 : 1 / r.dc;
      const pC = C?.run.latencyMs?.p50;
      const pD = D?.run.latencyMs?.p50;
      const detail =
        r.dc === Infinity
          ? `D starved: no fib(${SLOW_N}) answered in ${D?.run.seconds} s while two other clients were served (C p50 ${pC} ms)`
          : `D/C = ${r.dc?.toFixed(2)}: p50 ${pC} ms alone, ${pD} ms with two fib(${SLOW_N}) loops`;
      ratio(names.cd, cd, detail);
    }
    if (has('E')) {
      const last = E?.steps.at(-1);
      if (last) {
        entries.push({ name: names.e, unit: 'req/s', value: last.run.rate, extra: `${last.connections} connections` });
      }
      const steps = E?.steps.map((s) => `${s.connections}: ${s.run.rate}/s`).join(', ');
      ratio(names.eScaling, r.eScaling, steps);
      if (!isSequential(outcome) && sequential !== undefined) {
        ratio(names.eVsSequential, r.eVsSequential, steps, UNPAIRED_RATIO_UNIT);
      }
    }
  }
  return entries;
}

function withExtra(extra: string | undefined): { extra?: string } {
  return extra === undefined ? {} : { extra };
}
