import { runLoad, type LoadResult, type StopReason, type Tick } from '@fib/perf';
import type { Scenario } from './options.js';

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
  warmup: number;
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

function measure(ctx: ScenarioContext, label: string, n: number, connections: number): Promise<RunSummary> {
  return runLoad({
    host: ctx.host,
    port: ctx.port,
    n,
    connections,
    duration: ctx.duration,
    warmup: ctx.warmup,
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
async function underLoad(ctx: ScenarioContext, connections: number, body: () => Promise<RunSummary>):
  Promise<{ run: RunSummary; background: RunSummary }> {
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
    duration: ctx.warmup + ctx.duration + BACKGROUND_MARGIN_S,
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

export async function runScenario(ctx: ScenarioContext, scenario: Scenario): Promise<ScenarioResults> {
  switch (scenario) {
    case 'A':
      return { A: { run: await measure(ctx, 'perf2 alone', FAST_N, 1) } };
    case 'B':
      return { B: await underLoad(ctx, 1, () => measure(ctx, 'perf2 + fib(30) loop', FAST_N, 1)) };
    case 'C':
      return { C: { run: await measure(ctx, 'perf1 alone', SLOW_N, 1) } };
    case 'D':
      return { D: await underLoad(ctx, D_BACKGROUND_CONNECTIONS, () => measure(ctx, 'perf1 + 2 fib(30) loops', SLOW_N, 1)) };
    case 'E': {
      const steps: { connections: number; run: RunSummary }[] = [];
      for (const connections of SCALING_CONNECTIONS) {
        if (ctx.signal.aborted) break;
        if (steps.length > 0) await ctx.settle();
        steps.push({ connections, run: await measure(ctx, `fib(${SCALING_N}) x${connections}`, SCALING_N, connections) });
      }
      return { E: { steps } };
    }
  }
}
