import { median } from './stats.js';
import type { Ceiling } from './ceiling.js';
import type { ScenarioResults } from './scenarios.js';
import type { Timeline } from './timeline.js';

/** Everything measured for one strategy. */
export interface StrategyOutcome {
  name: string;
  packageName: string;
  /** A Python original: the Node strategy that ports it (its pair in the table and the chart). */
  pairOf?: string;
  status: 'ok' | 'failed';
  /** Why it failed (null when ok). */
  error: string | null;
  /** Each scenario summed up over the rounds: median rates and latencies (see mergeRounds). */
  scenarios: ScenarioResults;
  /** What each round measured, in order. */
  rounds: ScenarioResults[];
  /** Peak summed PSS of the server and its descendants; null where /proc is missing or it never started. */
  peakPssBytes: number | null;
  /** Most processes in the server's tree at once. */
  peakProcesses: number;
  /** Things a reader should know that did not fail the strategy (failed requests, orphans killed). */
  notes: string[];
  /** perf2's rate over time with a fib(30) client on from 2 s to 4 s (timeline.svg); absent with --no-timeline. */
  timeline?: Timeline;
}

/** The ratios of one strategy, measured in the same run (docs/benchmarks.md: compare ratios, not times). */
export interface Ratios {
  /** B rate / A rate: how much of perf2's rate survives a client looping fib(30). */
  ba: number | null;
  /** D p50 / C p50: how much slower fib(30) gets with two other clients; Infinity when D got no answer. */
  dc: number | null;
  /** E throughput at the most connections / at one connection. */
  eScaling: number | null;
  /** E throughput at the most connections / sequential's at as many. */
  eVsSequential: number | null;
}

/**
 * The ratios within one strategy are taken round by round (B and A of the
 * same round ran seconds apart, under the same conditions) and the median of
 * the rounds is kept, so that a load spike on a shared machine spoils one
 * round rather than the figure. Speed-up over sequential compares two servers
 * that never ran at once: it divides their medians.
 */
export function ratios(outcome: StrategyOutcome, sequential: StrategyOutcome | undefined): Ratios {
  const perRound = outcome.rounds.map(roundRatios);
  const pick = (key: 'ba' | 'dc' | 'eScaling') =>
    median(perRound.map((r) => r[key]).filter((v): v is number => v !== null));
  const last = outcome.scenarios.E?.steps.at(-1);
  const reference = sequential?.scenarios.E?.steps.find((s) => s.connections === last?.connections);
  const eVsSequential = last && reference && reference.run.rate > 0 ? last.run.rate / reference.run.rate : null;
  return { ba: pick('ba'), dc: pick('dc'), eScaling: pick('eScaling'), eVsSequential };
}

function roundRatios({ A, B, C, D, E }: ScenarioResults): Omit<Ratios, 'eVsSequential'> {
  const ba = A && B && A.run.rate > 0 ? B.run.rate / A.run.rate : null;
  let dc: number | null = null;
  if (C?.run.latencyMs && D) dc = D.run.latencyMs ? D.run.latencyMs.p50 / C.run.latencyMs.p50 : Infinity;
  const first = E?.steps[0];
  const last = E?.steps.at(-1);
  const eScaling = first && last && first.run.rate > 0 ? last.run.rate / first.run.rate : null;
  return { ba, dc, eScaling };
}

export function findSequential(outcomes: StrategyOutcome[]): StrategyOutcome | undefined {
  return outcomes.find((o) => o.name === 'sequential' && o.status === 'ok');
}

/** The sequential row a row's E × seq. divides by: a Python original's is the Python sequential server, in the same language. */
export function sequentialFor(outcome: StrategyOutcome, outcomes: StrategyOutcome[]): StrategyOutcome | undefined {
  if (outcome.pairOf === undefined) return findSequential(outcomes);
  return outcomes.find((o) => o.pairOf === 'sequential' && o.status === 'ok');
}

/** Whether a row is a sequential server, the reference of E × seq. (1.00 by definition). */
export function isSequential(outcome: StrategyOutcome): boolean {
  return outcome.name === 'sequential' || outcome.pairOf === 'sequential';
}

/** Where and how a run was made: printed above the table, kept in raw.json. */
export interface RunMeta {
  date: string;
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  /** Seconds measured per run, and the warmup before each. */
  duration: number;
  warmup: number;
  startupWarmup: number;
  quick: boolean;
  scenarios: string[];
  rounds: number;
  /**
   * The machine's 1-minute load average when the run began and ended: other
   * work on a shared machine moves every figure, and this is how a reader
   * can tell.
   */
  loadAverage: { start: number; end: number | null };
  /** The machine's own scaling: fib(27) per second of one plain node process, and of two at once. */
  ceiling?: Ceiling | null;
  /** What a reader of the table should know about the run as a whole (rows skipped and why). */
  notes?: string[];
}
