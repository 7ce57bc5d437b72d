import type { BenchOptions, Scenario } from './options.js';
import type { StrategyOutcome } from './outcome.js';
import type { Progress } from './progress.js';
import {
  mergeRounds,
  runScenario,
  SCALING_N,
  SLOW_N,
  type RunSummary,
  type ScenarioContext,
  type ScenarioResults,
} from './scenarios.js';
import { startServer, type ServerHandle } from './server.js';
import type { StrategyPackage } from './strategies.js';
import { formatRate, formatRatio } from './table.js';
import { runTimeline } from './timeline.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Starts one strategy, runs the chosen scenarios against it, and stops it
 * whatever happens. Never throws: a strategy that cannot start, dies, or
 * refuses connections comes back with status 'failed' and the reason.
 */
export async function runStrategy(
  strategy: StrategyPackage,
  options: BenchOptions,
  signal: AbortSignal,
  progress: Progress,
): Promise<StrategyOutcome> {
  const outcome: StrategyOutcome = {
    name: strategy.name,
    packageName: strategy.packageName,
    ...(strategy.pairOf === undefined ? {} : { pairOf: strategy.pairOf }),
    status: 'ok',
    error: null,
    scenarios: {},
    rounds: [],
    peakPssBytes: null,
    peakProcesses: 0,
    notes: [],
  };
  const fail = (message: string) => {
    outcome.status = 'failed';
    outcome.error = message;
    progress.line(`FAILED: ${message}`);
  };

  let server: ServerHandle;
  try {
    server = await startServer(strategy, strategy.args);
  } catch (error) {
    fail(`did not start: ${(error as Error).message}`);
    return outcome;
  }
  const flags = strategy.args === undefined ? '' : ` ${strategy.args.join(' ')}`;
  progress.line(`${strategy.binName}${flags} listening on ${server.host}:${server.port} (pid ${server.pid})`);
  const settle = () => sleep(options.settleMs);
  const ctx: ScenarioContext = {
    host: server.host,
    port: server.port,
    duration: options.duration,
    heavyDuration: options.duration * (strategy.heavyWindowFactor ?? 1),
    warmup: options.warmup,
    startupWarmup: options.startupWarmup,
    signal,
    settle,
    onTick: (label, tick) => progress.tick(label, tick),
  };
  try {
    for (let round = 0; round < options.rounds && !signal.aborted; round++) {
      const results: ScenarioResults = {};
      outcome.rounds.push(results);
      const prefix = options.rounds > 1 ? `round ${round + 1}/${options.rounds}: ` : '';
      for (const scenario of options.scenarios) {
        if (signal.aborted) break;
        const result = await runScenario(ctx, scenario);
        Object.assign(results, result);
        if (signal.aborted) break;
        await settle();
        const died = server.exitInfo;
        if (died !== null) {
          const tail = server.stderrTail();
          throw new Error(
            `the server exited during ${scenario} (${died.signal ?? `code ${died.code}`})` +
              (tail === '' ? '' : `: ${tail.split('\n').slice(-4).join(' / ')}`),
          );
        }
        const refused = runsOf(result).find(
          (run) => run.stopReason === 'connect-failed' || run.stopReason === 'connections-lost',
        );
        if (refused) throw new Error(`${scenario}: ${refused.problems[0] ?? refused.stopReason}`);
        progress.line(prefix + describe(scenario, results));
      }
    }
    if (options.timeline && !signal.aborted && outcome.status === 'ok') {
      outcome.timeline = await runTimeline(ctx);
      const rates = outcome.timeline.rates;
      progress.line(
        `timeline: ${formatRate(Math.min(...rates))} to ${formatRate(Math.max(...rates))} req/s per 100 ms`,
      );
    }
  } catch (error) {
    fail((error as Error).message);
  } finally {
    outcome.scenarios = mergeRounds(outcome.rounds);
    const report = await server.stop();
    outcome.peakPssBytes = server.sampler.peakBytes;
    outcome.peakProcesses = server.sampler.peakProcesses;
    if (report.killed) outcome.notes.push('ignored SIGTERM and was killed after 5 s');
    if (report.orphans > 0) {
      outcome.notes.push(`${report.orphans} descendant process(es) outlived the server and were killed by the bench`);
    }
    const { code, signal: exitSignal } = report.exit;
    if (!report.killed && code !== 0 && outcome.status === 'ok' && !signal.aborted) {
      outcome.notes.push(`exited with ${exitSignal ?? `code ${code}`} after SIGTERM (docs/cli.md: 0)`);
    }
  }
  const failed = outcome.rounds.flatMap(runsOf).filter((run) => run.failed > 0);
  if (failed.length > 0) {
    const count = failed.reduce((sum, run) => sum + run.failed, 0);
    const problems = [...new Set(failed.flatMap((run) => run.problems))].slice(0, 3);
    outcome.notes.push(`${count} request(s) failed: ${problems.join('; ')}`);
  }
  return outcome;
}

type AnyScenario = NonNullable<ScenarioResults[Scenario]>;

/** Every load run in some scenario results, foreground and background. */
function runsOf(results: ScenarioResults): RunSummary[] {
  const runs: RunSummary[] = [];
  for (const value of Object.values(results) as AnyScenario[]) {
    if ('steps' in value) runs.push(...value.steps.map((s) => s.run));
    else runs.push(value.run, ...('background' in value ? [value.background] : []));
  }
  return runs;
}

function latency(run: RunSummary): string {
  return run.latencyMs === null
    ? `no answer in ${run.seconds} s`
    : `p50 ${run.latencyMs.p50.toFixed(1)} ms, p99 ${run.latencyMs.p99.toFixed(1)} ms (${run.ok} answers)`;
}

function describe(scenario: Scenario, s: ScenarioResults): string {
  switch (scenario) {
    case 'A':
      return `A perf2 alone: ${formatRate(s.A!.run.rate)} req/s`;
    case 'B': {
      const ratio = s.A && s.A.run.rate > 0 ? ` (B/A ${formatRatio(s.B!.run.rate / s.A.run.rate)})` : '';
      return `B perf2 with a fib(${SLOW_N}) loop: ${formatRate(s.B!.run.rate)} req/s${ratio}`;
    }
    case 'C':
      return `C perf1 alone: ${latency(s.C!.run)}`;
    case 'D':
      return `D perf1 with two fib(${SLOW_N}) loops: ${latency(s.D!.run)}`;
    case 'E':
      return (
        `E fib(${SCALING_N})/s at ${s.E!.steps.map((x) => x.connections).join('/')} conn.: ` +
        s.E!.steps.map((x) => formatRate(x.run.rate)).join(' / ')
      );
  }
}
