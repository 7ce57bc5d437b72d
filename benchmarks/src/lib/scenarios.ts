import { runLoad, type LoadResult, type StopReason, type Tick } from '@fib/perf';
import type { Scenario } from './options.js';
import { median } from './stats.js';

/** perf2's request, as in the original: the cheapest answer, so the rate measures the server's overhead. */
export const FAST_N = 1;
/** perf1's request and the background load of B and D: the original's heavy request. */
export const SLOW_N = 30;
/** E's request: heavy enough that computing dominates, light enough for many answers per second. */
export const SCALING_N = 27;
/** E's connection counts: 1, the 2 cores of a small machine, and over-subscription. */
export const SCALING_CONNECTIONS = [1, 2, 4, 8] as const;
/** Clients looping fib(30) in D, as in the original's demonstration. */
const D_BACKGROUND_CONNECTIONS = 2;
/** How long B and D wait for the background client's first answer before measuring anyway. */
const FIRST_ANSWER_WAIT_MS = 3_000;
/** Beyond the foreground's own time, the background's bound in seconds (it is stopped long before). */
const BACKGROUND_MARGIN_S = 30;

/** What the table and the gate need from one @fib/perf run. Latencies in milliseconds. */
export interface RunSummary {
  stopReason: StopReason;
  n: number;
  connections: number;
  seconds: number;
  ok: number;
  failed: number;
  unanswered: number;
  /** Correct answers per second over the measurement. */
  rate: number;
  /** Null when nothing was answered. */
  latencyMs: { p50: number; p90: number; p99: number; max: number } | null;
  problems: string[];
}

export interface ScenarioResults {
  A?: { run: RunSummary };
  B?: { run: RunSummary; background: RunSummary };
  C?: { run: RunSummary };
  D?: { run: RunSummary; background: RunSummary };
  E?: { steps: { connections: number; run: RunSummary }[] };
}

export interface ScenarioContext {
  host: string;
  port: number;
  duration: number;
  /** Seconds C and D measure, whose every answer is a fib(30); default `duration` (see StrategyPackage.heavyWindowFactor). */
  heavyDuration?: number;
  warmup: number;
  /** The warmup of B, D and E (BenchOptions.startupWarmup). */
  startupWarmup: number;
  signal: AbortSignal;
  /** Waits between two runs (see BenchOptions.settleMs). */
  settle: () => Promise<void>;
  /** Called once a second with the measured run's latest rate. */
  onTick: (label: string, tick: Tick) => void;
}

export function summarize(result: LoadResult): RunSummary {
  const { latencyMicros: l } = result;
  const ms = (micros: number) => Math.round(micros) / 1000;
  return {
    stopReason: result.stopReason,
    n: result.options.n,
    connections: result.options.connections,
    seconds: result.seconds,
    ok: result.requests.ok,
    failed: result.requests.failed,
    unanswered: result.requests.unanswered,
    rate: result.rate.mean,
    latencyMs: l.count === 0 ? null : { p50: ms(l.p50), p90: ms(l.p90), p99: ms(l.p99), max: ms(l.max) },
    problems: result.problems,
  };
}

function measure(
  ctx: ScenarioContext,
  label: string,
  n: number,
  connections: number,
  warmup = ctx.warmup,
  duration = ctx.duration,
): Promise<RunSummary> {
  return runLoad({
    host: ctx.host,
    port: ctx.port,
    n,
    connections,
    duration,
    warmup,
    signal: ctx.signal,
    onTick: (tick) => ctx.onTick(label, tick),
  }).then(summarize);
}

/**
 * Runs `body` while `connections` other clients loop fib(30). The
 * background starts first and the body waits for its first answer, so the
 * server is already busy when the measurement begins (on the sequential
 * server, the background client is the one being served).
 */
async function underLoad(
  ctx: ScenarioContext,
  connections: number,
  body: () => Promise<RunSummary>,
): Promise<{ run: RunSummary; background: RunSummary }> {
  const stop = new AbortController();
  const forward = () => stop.abort();
  ctx.signal.addEventListener('abort', forward, { once: true });
  let answered!: () => void;
  const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
  const background = runLoad({
    host: ctx.host,
    port: ctx.port,
    n: SLOW_N,
    connections,
    duration: ctx.startupWarmup + heavyDuration(ctx) + BACKGROUND_MARGIN_S,
    signal: stop.signal,
    onAnswer: () => answered(),
  });
  let waitTimer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => (waitTimer = setTimeout(resolve, FIRST_ANSWER_WAIT_MS)));
  await Promise.race([firstAnswer, waited, background]);
  clearTimeout(waitTimer);
  try {
    const run = await body();
    return { run, background: summarize(await stopped()) };
  } catch (error) {
    await stopped();
    throw error;
  }

  function stopped(): Promise<LoadResult> {
    stop.abort();
    ctx.signal.removeEventListener('abort', forward);
    return background;
  }
}

function heavyDuration(ctx: ScenarioContext): number {
  return ctx.heavyDuration ?? ctx.duration;
}

export async function runScenario(ctx: ScenarioContext, scenario: Scenario): Promise<ScenarioResults> {
  switch (scenario) {
    case 'A':
      return { A: { run: await measure(ctx, 'perf2 alone', FAST_N, 1) } };
    case 'B':
      return { B: await underLoad(ctx, 1, () => measure(ctx, 'perf2 + fib(30) loop', FAST_N, 1, ctx.startupWarmup)) };
    case 'C':
      return { C: { run: await measure(ctx, 'perf1 alone', SLOW_N, 1, ctx.warmup, heavyDuration(ctx)) } };
    case 'D':
      return {
        D: await underLoad(ctx, D_BACKGROUND_CONNECTIONS, () =>
          measure(ctx, 'perf1 + 2 fib(30) loops', SLOW_N, 1, ctx.startupWarmup, heavyDuration(ctx)),
        ),
      };
    case 'E': {
      const steps: { connections: number; run: RunSummary }[] = [];
      for (const connections of SCALING_CONNECTIONS) {
        if (ctx.signal.aborted) break;
        if (steps.length > 0) await ctx.settle();
        steps.push({
          connections,
          run: await measure(ctx, `fib(${SCALING_N}) x${connections}`, SCALING_N, connections, ctx.startupWarmup),
        });
      }
      return { E: { steps } };
    }
  }
}

/**
 * One summary per scenario from several rounds: rates and latency
 * percentiles are the medians of the rounds (a round with no answer counts
 * as an infinite latency), counts are sums.
 */
export function mergeRounds(rounds: ScenarioResults[]): ScenarioResults {
  const merged: ScenarioResults = {};
  const runs = <T>(pick: (r: ScenarioResults) => T | undefined) =>
    rounds.map(pick).filter((x): x is T => x !== undefined);
  const A = runs((r) => r.A?.run);
  if (A.length > 0) merged.A = { run: mergeRuns(A) };
  const C = runs((r) => r.C?.run);
  if (C.length > 0) merged.C = { run: mergeRuns(C) };
  for (const key of ['B', 'D'] as const) {
    const both = runs((r) => r[key]);
    if (both.length > 0) {
      merged[key] = { run: mergeRuns(both.map((x) => x.run)), background: mergeRuns(both.map((x) => x.background)) };
    }
  }
  const E = runs((r) => r.E);
  if (E.length > 0) {
    const counts = [...new Set(E.flatMap((e) => e.steps.map((s) => s.connections)))];
    merged.E = {
      steps: counts.map((connections) => ({
        connections,
        run: mergeRuns(E.flatMap((e) => e.steps.filter((s) => s.connections === connections).map((s) => s.run))),
      })),
    };
  }
  return merged;
}

function mergeRuns(runs: RunSummary[]): RunSummary {
  if (runs.length === 1) return runs[0]!;
  const sum = (pick: (r: RunSummary) => number) => runs.reduce((total, r) => total + pick(r), 0);
  const percentile = (key: 'p50' | 'p90' | 'p99') => median(runs.map((r) => r.latencyMs?.[key] ?? Infinity))!;
  const p50 = percentile('p50');
  return {
    stopReason: runs.find((r) => r.stopReason !== 'duration')?.stopReason ?? 'duration',
    n: runs[0]!.n,
    connections: runs[0]!.connections,
    seconds: Math.round(sum((r) => r.seconds) * 1000) / 1000,
    ok: sum((r) => r.ok),
    failed: sum((r) => r.failed),
    unanswered: sum((r) => r.unanswered),
    rate: Math.round(median(runs.map((r) => r.rate))!),
    latencyMs:
      p50 === Infinity
        ? null
        : {
            p50,
            p90: percentile('p90'),
            p99: percentile('p99'),
            max: Math.max(...runs.map((r) => r.latencyMs?.max ?? 0)),
          },
    problems: [...new Set(runs.flatMap((r) => r.problems))],
  };
}
