import { parseArgs } from 'node:util';

/** The demonstrations of SPEC section 7, in the order they run. */
export const SCENARIOS = ['A', 'B', 'C', 'D', 'E'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Seconds measured per run in a full bench: about a hundred fib(30) answers, twenty thousand perf2 ones. */
const FULL_DURATION = 1.2;
/** Rounds of a full bench: the median of three paired ratios shrugs off one noisy round. */
const FULL_ROUNDS = 3;
/** Seconds per run with --quick: 8 runs per strategy keep all strategies near a minute and a half. */
const QUICK_DURATION = 0.8;
/** Seconds: eight Node workers or processes start in about half a second on an idle 2-core machine; 1 s leaves room for a busy one. */
const FULL_STARTUP_WARMUP = 1;
const QUICK_STARTUP_WARMUP = 0.5;
/** A bound, so that a typo cannot start a bench of several hours. */
const MAX_ROUNDS = 20;
/** The gate's default: a ratio may lose 20% before it counts as a regression (the figure). */
const DEFAULT_THRESHOLD = 0.2;

export interface BenchOptions {
  /** Strategy names to run (`sequential`, `async`, ...); empty means every one found. */
  strategies: string[];
  scenarios: Scenario[];
  /** Seconds measured in every run (A to D, and each step of E). */
  duration: number;
  /** Times every scenario is run; ratios are the median of the rounds' ratios. */
  rounds: number;
  /** Seconds of load before each measurement, so JIT compilation and worker start-up are not measured. */
  warmup: number;
  /**
   * The warmup of the runs with several connections (B, D and E): long
   * enough for the strategies that start a worker per connection (thread,
   * fork) to have started all of theirs, so that these runs measure sharing
   * and scaling rather than start-up.
   */
  startupWarmup: number;
  /** Pause between two runs, so work left over from one does not land in the next. */
  settleMs: number;
  quick: boolean;
  /** Also run benchmarks/baselines/line-server.mjs, first, as the reference row. */
  baseline: boolean;
  /** Also run the convoy timeline (timeline.svg): about 7 s per strategy, quick runs included. */
  timeline: boolean;
  /** Also run the Python original of each Node strategy, just before it (on in a full run, off with --quick). */
  originals: boolean;
  out: string;
  /** Baseline results.json to gate on. */
  compare: string | null;
  threshold: number;
  /** With --compare: a results.json to check instead of running the bench. */
  results: string | null;
  help: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage: npm run bench -- [options]

Starts every fib-server-* strategy on a free port, runs the demonstrations of
SPEC section 7 against it with @fib/perf, and writes results.json (the
customBiggerIsBetter shape of github-action-benchmark), results.md (the table),
chart.svg, timeline.svg (perf2's rate over 6 s, a fib(30) client on from 2 s to
4 s) and raw.json into --out.

  A  perf2 rate alone                      (fib(1), one connection)
  B  perf2 rate while a client loops fib(30)
  C  perf1 latency alone                   (fib(30), one connection)
  D  perf1 latency while two clients loop fib(30)
  E  fib(27) throughput with 1, 2, 4 and 8 connections

options:
  --strategies a,b    strategies to run (default: every packages/server-* with a bin); py-thread, py-pool...
                      name Python originals
  --scenarios A,C     scenarios to run (default: A,B,C,D,E)
  --duration S        seconds measured per run (default ${FULL_DURATION}; ${QUICK_DURATION} with --quick)
  --rounds N          times each scenario runs; ratios are the median of the rounds (default ${FULL_ROUNDS}; 1 with --quick)
  --warmup S          seconds of load before each measurement (default: a quarter of --duration, at most 1;
                      B, D and E warm up for at least ${FULL_STARTUP_WARMUP} s, ${QUICK_STARTUP_WARMUP} s with --quick, so per-connection workers start)
  --quick             one short round for CI: all strategies in about a minute and a half
  --baseline          also run benchmarks/baselines/line-server.mjs (the bare line server) as a first row
  --originals         also run the Python originals (benchmarks/baselines/python/, python3 on PATH),
                      each as a py-* row before its Node port (default: on, off with --quick);
                      --no-originals: none but the py-* rows named in --strategies
  --no-timeline       skip the convoy timeline (about 7 s per strategy)
  --out DIR           where to write the files (default: bench-results)
  --compare FILE      gate: compare the ratios with a baseline results.json
  --threshold F       with --compare: the loss that counts as a regression (default ${DEFAULT_THRESHOLD})
  --results FILE      with --compare: check this results.json instead of running the bench
  --help

exit status: 0 done; 1 a ratio regressed; 2 bad command line; 3 a strategy failed; 130 interrupted`;

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        strategies: { type: 'string' },
        scenarios: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        rounds: { type: 'string' },
        quick: { type: 'boolean', default: false },
        baseline: { type: 'boolean', default: false },
        'no-timeline': { type: 'boolean', default: false },
        originals: { type: 'boolean' },
        'no-originals': { type: 'boolean' },
        out: { type: 'string', default: 'bench-results' },
        compare: { type: 'string' },
        threshold: { type: 'string' },
        results: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const quick = values.quick;
  const duration =
    values.duration === undefined ? (quick ? QUICK_DURATION : FULL_DURATION) : positive('--duration', values.duration);
  const warmup = values.warmup === undefined ? Math.min(1, duration / 4) : nonNegative('--warmup', values.warmup);
  const rounds = values.rounds === undefined ? (quick ? 1 : FULL_ROUNDS) : positive('--rounds', values.rounds);
  if (!Number.isInteger(rounds) || rounds > MAX_ROUNDS) {
    throw new UsageError(`--rounds must be an integer from 1 to ${MAX_ROUNDS} (got ${values.rounds})`);
  }
  const threshold = values.threshold === undefined ? DEFAULT_THRESHOLD : nonNegative('--threshold', values.threshold);
  if (threshold >= 1) throw new UsageError(`--threshold must be below 1 (got ${values.threshold})`);
  if (values.results !== undefined && values.compare === undefined) {
    throw new UsageError('--results needs --compare (it names the results to check against the baseline)');
  }
  if (values.originals && values['no-originals']) throw new UsageError('--originals and --no-originals contradict');
  if (values.threshold !== undefined && values.compare === undefined) {
    throw new UsageError('--threshold needs --compare');
  }
  return {
    strategies: list(values.strategies),
    scenarios: values.scenarios === undefined ? [...SCENARIOS] : scenarioList(values.scenarios),
    duration,
    rounds,
    warmup,
    startupWarmup: Math.max(warmup, quick ? QUICK_STARTUP_WARMUP : FULL_STARTUP_WARMUP),
    settleMs: quick ? 150 : 300,
    quick,
    baseline: values.baseline,
    timeline: !values['no-timeline'],
    originals: values.originals ?? (values['no-originals'] === true ? false : !quick),
    out: values.out,
    compare: values.compare ?? null,
    threshold,
    results: values.results ?? null,
    help: values.help,
  };
}

function list(value: string | undefined): string[] {
  if (value === undefined) return [];
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new UsageError('--strategies needs at least one name');
  return [...new Set(items)];
}

function scenarioList(value: string): Scenario[] {
  const wanted = new Set<Scenario>();
  for (const item of list(value)) {
    const upper = item.toUpperCase();
    if (!(SCENARIOS as readonly string[]).includes(upper)) {
      throw new UsageError(`--scenarios: unknown scenario "${item}" (known: ${SCENARIOS.join(',')})`);
    }
    wanted.add(upper as Scenario);
  }
  // Always run in the documented order, whatever order they were asked in.
  return SCENARIOS.filter((s) => wanted.has(s));
}

function number(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`${flag} must be a number (got "${text}")`);
  return value;
}

function positive(flag: string, text: string): number {
  const value = number(flag, text);
  if (value <= 0) throw new UsageError(`${flag} must be above 0 (got ${text})`);
  return value;
}

function nonNegative(flag: string, text: string): number {
  const value = number(flag, text);
  if (value < 0) throw new UsageError(`${flag} must be 0 or more (got ${text})`);
  return value;
}
