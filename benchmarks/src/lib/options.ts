import { formatOptions, OptionError, parseCommandLine, type OptionTable } from '@fib/core/cli';
import { LOAD_OPTIONS } from '@fib/perf';

/** The classic demonstrations, in the order they run. */
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
  version: boolean;
}

/** A wrong command line: the shared layer's error, so the lab words it as every other bin does. */
export const UsageError = OptionError;
export type UsageError = OptionError;

/** Seconds: a bound on --duration and --warmup, so that a typo cannot start a bench of days. */
const MAX_SECONDS = 3600;

/** The lab's options: the parser, the checks and the help text come from this table. */
export const BENCH_OPTIONS = {
  strategies: {
    flag: '--strategies',
    kind: 'string',
    arg: 'a,b',
    help: 'strategies to run (default: every packages/server-* with a bin); py-thread, py-pool... name Python originals',
  },
  scenarios: {
    flag: '--scenarios',
    kind: 'string',
    arg: 'A,C',
    help: 'scenarios to run',
    defaultText: SCENARIOS.join(','),
  },
  // fib-perf2's --duration (short flag, units, bounds), with the lab's own cap, help and default.
  duration: {
    ...LOAD_OPTIONS.duration,
    max: MAX_SECONDS,
    help: `time measured per run (1.2, 800ms)`,
    defaultText: `${FULL_DURATION}; ${QUICK_DURATION} with --quick`,
  },
  rounds: {
    flag: '--rounds',
    kind: 'integer',
    min: 1,
    max: MAX_ROUNDS,
    help: 'times each scenario runs; ratios are the median of the rounds',
    defaultText: `${FULL_ROUNDS}; 1 with --quick`,
  },
  warmup: {
    flag: '--warmup',
    kind: 'seconds',
    min: 0,
    max: MAX_SECONDS,
    help:
      `load before each measurement (default: a quarter of --duration, at most 1 s; B, D and E warm up for at least ` +
      `${FULL_STARTUP_WARMUP} s, ${QUICK_STARTUP_WARMUP} s with --quick, so per-connection workers start)`,
  },
  quick: {
    flag: '--quick',
    kind: 'boolean',
    help: 'one short round for CI: all strategies in about a minute and a half',
  },
  baseline: {
    flag: '--baseline',
    kind: 'boolean',
    help: 'also run benchmarks/baselines/line-server.mjs (the bare line server) as a first row',
  },
  originals: {
    flag: '--originals',
    kind: 'boolean',
    help: 'also run the Python originals (python3 on PATH), each as a py-* row before its Node port (default: on, off with --quick)',
  },
  noOriginals: { flag: '--no-originals', kind: 'boolean', help: 'none but the py-* rows named in --strategies' },
  noTimeline: { flag: '--no-timeline', kind: 'boolean', help: 'skip the convoy timeline (about 7 s per strategy)' },
  out: { flag: '--out', kind: 'string', arg: 'DIR', help: 'where to write the files', defaultText: 'bench-results' },
  compare: {
    flag: '--compare',
    kind: 'string',
    arg: 'FILE',
    help: 'gate: compare the ratios with a baseline results.json',
  },
  threshold: {
    flag: '--threshold',
    kind: 'number',
    min: 0,
    max: 0.99,
    help: 'with --compare: the loss that counts as a regression',
    defaultText: String(DEFAULT_THRESHOLD),
  },
  results: {
    flag: '--results',
    kind: 'string',
    arg: 'FILE',
    help: 'with --compare: check this results.json instead of running the bench',
  },
} as const satisfies OptionTable;

export const USAGE = `Usage: npm run bench -- [options]

Starts every fib-server-* strategy on a free port, runs the classic
demonstrations against it with @fib/perf, and writes results.json (the
customBiggerIsBetter shape of github-action-benchmark), results.md (the table),
chart.svg, timeline.svg (perf2's rate over 6 s, a fib(30) client on from 2 s to
4 s) and raw.json into --out.

  A  perf2 rate alone                      (fib(1), one connection)
  B  perf2 rate while a client loops fib(30)
  C  perf1 latency alone                   (fib(30), one connection)
  D  perf1 latency while two clients loop fib(30)
  E  fib(27) throughput with 1, 2, 4 and 8 connections

Options:
${formatOptions(BENCH_OPTIONS).join('\n')}

Durations take a unit (800ms, 2s); a plain number is seconds.

Exit status: 0 done; 1 a ratio regressed; 2 bad command line; 3 a strategy failed; 130 interrupted`;

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const parsed = parseCommandLine(argv, BENCH_OPTIONS);
  const get = <T>(name: keyof typeof BENCH_OPTIONS) => parsed.values.get(name) as T | undefined;
  const flag = (name: keyof typeof BENCH_OPTIONS) => get<boolean>(name) === true;
  const quick = flag('quick');
  const duration = get<number>('duration') ?? (quick ? QUICK_DURATION : FULL_DURATION);
  const warmup = get<number>('warmup') ?? Math.min(1, duration / 4);
  const compare = get<string>('compare') ?? null;
  if (get('results') !== undefined && compare === null) {
    throw new UsageError('--results needs --compare (it names the results to check against the baseline)');
  }
  if (flag('originals') && flag('noOriginals')) throw new UsageError('--originals and --no-originals contradict');
  if (get('threshold') !== undefined && compare === null) throw new UsageError('--threshold needs --compare');
  return {
    strategies: list(get<string>('strategies')),
    scenarios: get('scenarios') === undefined ? [...SCENARIOS] : scenarioList(get<string>('scenarios')!),
    duration,
    rounds: get<number>('rounds') ?? (quick ? 1 : FULL_ROUNDS),
    warmup,
    startupWarmup: Math.max(warmup, quick ? QUICK_STARTUP_WARMUP : FULL_STARTUP_WARMUP),
    settleMs: quick ? 150 : 300,
    quick,
    baseline: flag('baseline'),
    timeline: !flag('noTimeline'),
    originals: flag('originals') || (!flag('noOriginals') && !quick),
    out: get<string>('out') ?? 'bench-results',
    compare,
    threshold: get<number>('threshold') ?? DEFAULT_THRESHOLD,
    results: get<string>('results') ?? null,
    help: parsed.action === 'help',
    version: parsed.action === 'version',
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
