import { createRequire } from 'node:module';
import {
  EXIT_USAGE,
  formatOptions,
  formatUsageError,
  OptionError,
  parseCommandLine,
  parseTarget,
  type OptionTable,
} from '@fib/core/cli';
import type { Histogram } from 'hdr-histogram-js';
import { compareRuns, CompareInputError, formatComparison, readRunFile } from './compare.js';
import { runLoad } from './engine.js';
import { HdrLogFile } from './hdr-log.js';
import { newHistogram } from './latency.js';
import { LOAD_OPTIONS, type LoadOptionName, type LoadOptions } from './options.js';
import { ProgressBar } from './progress.js';
import { formatSpectrum, formatSummary } from './report.js';
import type { LoadResult } from './result.js';

/** What differs between fib-perf1 and fib-perf2. */
export interface Tool {
  name: string;
  /** The n of every request unless --n says otherwise. */
  defaultN: number;
  /** One paragraph for --help. */
  about: string;
  /** Progress: one line per answer (perf1, as the original printed each time) or per second (perf2). */
  progress: 'answer' | 'second';
}

export const PERF1: Tool = {
  name: 'fib-perf1',
  defaultN: 30,
  progress: 'answer',
  about:
    'Latency of slow requests: sends `n\\n` (default fib(30)), prints the seconds each\n' +
    'answer took, one line per answer, then a summary of the latency distribution.',
};

export const PERF2: Tool = {
  name: 'fib-perf2',
  defaultN: 1,
  progress: 'second',
  about:
    'Throughput of fast requests: sends `n\\n` (default fib(1)) as fast as the server\n' +
    'answers, prints `N reqs/sec` once a second, then a summary.',
};

/** The exit codes, documented in --help and the README. */
export const EXIT = {
  /** The run went to its end, every answer was correct or an ERR (shedding load is legal). */
  ok: 0,
  /** A wrong or malformed answer, or no correct answer at all. */
  failed: 1,
  usage: EXIT_USAGE,
  /** The run was cut short: a connection could not open, or the server closed or reset one. */
  cutShort: 3,
  /** What a shell reports for a process killed by SIGINT (128 + 2): the second Ctrl-C. */
  interrupted: 130,
} as const;

/** Flags of the command alone: what to print and where. */
const OUTPUT_OPTIONS = {
  latency: {
    flag: '--latency',
    short: 'l',
    kind: 'boolean',
    help: 'also print the full latency spectrum, wrk2-style, up to 99.999 %',
  },
  hdrLog: {
    flag: '--hdr-log',
    kind: 'string',
    arg: 'FILE',
    help: 'write the latency of each second as an HdrHistogram interval log (microseconds)',
  },
  json: {
    flag: '--json',
    short: 'j',
    kind: 'boolean',
    help: 'print one JSON summary object on stdout and nothing else there',
  },
  quiet: { flag: '--quiet', short: 'q', kind: 'boolean', help: 'no progress lines, no live problem reports' },
} as const satisfies OptionTable;

function table(tool: Tool): OptionTable {
  return { ...LOAD_OPTIONS, n: { ...LOAD_OPTIONS.n, defaultText: String(tool.defaultN) }, ...OUTPUT_OPTIONS };
}

function usage(tool: Tool): string {
  return `Usage: ${tool.name} [options] [HOST:PORT]
       ${tool.name} compare A.json B.json [--threshold F] [--alpha P]

${tool.about}

The target is HOST:PORT, [IPV6]:PORT, :PORT, PORT or HOST (default 127.0.0.1:25000),
or --host and --port.

Options:
${formatOptions(table(tool)).join('\n')}

Durations take a unit (500ms, 10s, 2m); a plain number is seconds. On a terminal, a progress
bar shows the time left; Ctrl-C stops the run and prints the summary (a second Ctrl-C quits at once).

compare: the differences between two --json files, with Welch's t-test on their per-second
samples (rate, p50 and p99 latency).
${formatOptions(COMPARE_OPTIONS)
  .filter((line) => !/--help|--version/.test(line))
  .join('\n')}

Exit status:
  0    the run ended as asked (duration, requests or Ctrl-C) and every answer was correct or ERR
  1    a wrong or malformed answer, or no correct answer at all; compare: b regressed
  2    bad usage
  3    cut short: a connection could not be opened, or the server closed or reset one
  130  a second Ctrl-C
`;
}

export interface ParsedCommand {
  action: 'run' | 'help' | 'version';
  options: LoadOptions;
  json: boolean;
  quiet: boolean;
  latency: boolean;
  hdrLog: string | null;
}

/** Parses argv; throws an OptionError with a one-line message for anything wrong. */
export function parseCommand(argv: readonly string[], tool: Tool = PERF2): ParsedCommand {
  const parsed = parseCommandLine(argv, table(tool), { positionals: 1 });
  const options: LoadOptions = {};
  for (const name of Object.keys(LOAD_OPTIONS) as LoadOptionName[]) {
    const value = parsed.values.get(name);
    if (value !== undefined) (options as Record<string, unknown>)[name] = value;
  }
  const target = parsed.positionals[0];
  if (target !== undefined) {
    const { host, port } = parseTarget(target, LOAD_OPTIONS.port);
    for (const [key, value] of [
      ['host', host],
      ['port', port],
    ] as const) {
      if (value === undefined) continue;
      if (options[key] !== undefined) {
        throw new OptionError(`the target ${JSON.stringify(target)} and --${key} both give the ${key}`);
      }
      (options as Record<string, unknown>)[key] = value;
    }
  }
  if (options.arrivals !== undefined && options.rate === undefined) {
    throw new OptionError('--arrivals needs --rate (it shapes the schedule that --rate sets)');
  }
  const flag = (name: string) => parsed.values.get(name) === true;
  return {
    action: parsed.action,
    options,
    json: flag('json'),
    quiet: flag('quiet'),
    latency: flag('latency'),
    hdrLog: (parsed.values.get('hdrLog') as string | undefined) ?? null,
  };
}

/** Collects progress lines and writes them in one call per turn of the event loop. */
class LineWriter {
  #pending = '';
  #scheduled = false;
  constructor(
    readonly stream: NodeJS.WritableStream,
    readonly bar: ProgressBar | null = null,
  ) {}

  line(text: string): void {
    this.#pending += text + '\n';
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#pending === '') return;
    this.bar?.clear();
    this.stream.write(this.#pending);
    this.#pending = '';
    this.bar?.draw();
  }
}

function version(): string {
  // dist/<entry>.js and its chunks sit one level below package.json.
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

/** --help and --version, for the run and for compare alike. */
function answerInfo(tool: Tool, action: 'help' | 'version'): number {
  process.stdout.write(action === 'help' ? usage(tool) : `${version()}\n`);
  return EXIT.ok;
}

/** Runs a tool as a command; resolves with its exit code. */
export async function main(tool: Tool, argv: string[] = process.argv.slice(2)): Promise<number> {
  if (argv[0] === 'compare') return compareCommand(tool, argv.slice(1));
  let command: ParsedCommand;
  try {
    command = parseCommand(argv, tool);
  } catch (error) {
    if (!(error instanceof OptionError)) throw error;
    process.stderr.write(formatUsageError(tool.name, error, usage(tool)));
    return EXIT.usage;
  }
  if (command.action !== 'run') return answerInfo(tool, command.action);

  const { json, quiet } = command;
  let hdrLog: HdrLogFile | null = null;
  if (command.hdrLog !== null) {
    try {
      hdrLog = new HdrLogFile(command.hdrLog, `${tool.name} ${version()}`);
    } catch (error) {
      process.stderr.write(`${tool.name}: cannot write --hdr-log ${command.hdrLog}: ${(error as Error).message}\n`);
      return EXIT.usage;
    }
  }
  // Only a person at a terminal gets the bar; a pipe or a file gets exactly the lines.
  const bar =
    !quiet && process.stderr.isTTY
      ? new ProgressBar(
          process.stderr,
          { duration: command.options.duration ?? null, requests: command.options.requests ?? null },
          command.options.warmup ?? 0,
        )
      : null;
  // With --json, stdout carries the summary object alone; progress moves to stderr.
  const progress = new LineWriter(json ? process.stderr : process.stdout, bar);
  const problems = new LineWriter(process.stderr, bar);
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts > 1) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `fib-perf1 | head -3`: once the reader is gone, stop as Ctrl-C would and write nothing more to
  // stdout (Node turns SIGPIPE into an EPIPE error, which would otherwise end in a stack trace).
  let stdoutGone = false;
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    if (stdoutGone) return; // later writes into the closed pipe fail the same way
    if (error.code !== 'EPIPE') throw error;
    stdoutGone = true;
    controller.abort();
  };
  process.stdout.on('error', onStdoutError);

  const options: LoadOptions = { ...command.options, signal: controller.signal };
  const total: Histogram | null = command.latency ? newHistogram() : null;
  if (hdrLog !== null || total !== null) {
    options.onInterval = (interval) => {
      hdrLog?.interval(interval);
      total?.add(interval.histogram);
    };
  }
  if (bar !== null) options.onTick = (tick) => bar.onTick(tick);
  if (!quiet) {
    options.onProblem = (message) => problems.line(`${tool.name}: ${message}`);
    if (tool.progress === 'answer') options.onAnswer = (micros) => progress.line((micros / 1e6).toFixed(6));
    else
      options.onTick = (tick) => {
        bar?.onTick(tick);
        progress.line(`${tick.rate} reqs/sec${tick.failed > 0 ? ` (${tick.failed} failed)` : ''}`);
      };
  }

  let result: LoadResult;
  try {
    result = await runLoad(options, { n: tool.defaultN });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.flush();
    problems.flush();
    bar?.stop();
    hdrLog?.close();
  }

  if (stdoutGone) {
    // Nothing to print to; the exit code still tells how the run went.
  } else if (json) {
    process.stdout.write(JSON.stringify({ tool: tool.name, version: version(), ...result }) + '\n');
  } else if (result.stopReason !== 'connect-failed') {
    // When no connection opened, nothing was measured: the reason below is the whole story.
    process.stdout.write(formatSummary(tool.name, result));
    if (total !== null) process.stdout.write(`\n${formatSpectrum(total)}`);
  }
  return verdict(tool, result, quiet);
}

/** The exit code of a finished run, with a line on stderr saying why when it is not 0. */
function verdict(tool: Tool, result: LoadResult, quiet: boolean): number {
  const { ok, wrong, malformed } = result.requests;
  const { failed: unopened, dropped } = result.connections;
  let code: number;
  let why: string;
  if (wrong + malformed > 0) {
    code = EXIT.failed;
    why = `${wrong + malformed} wrong or malformed answers`;
  } else if (result.stopReason === 'connect-failed') {
    code = EXIT.cutShort;
    // Without --quiet the reason why no connection opened is already on stderr.
    if (!quiet) return code;
    why = result.problems[0] ?? 'no connection could be opened';
  } else if (unopened > 0 || dropped > 0) {
    code = EXIT.cutShort;
    why =
      result.stopReason === 'connections-lost'
        ? 'cut short: the server closed every connection'
        : `cut short: ${unopened > 0 ? `${unopened} connection(s) could not be opened` : `${dropped} connection(s) dropped by the server`}`;
  } else if (ok === 0) {
    code = EXIT.failed;
    why = `no correct answer${result.problems[0] ? ` (${result.problems[0]})` : ''}`;
  } else {
    return EXIT.ok;
  }
  process.stderr.write(`${tool.name}: ${why}\n`);
  return code;
}

/** The regression threshold of compare: b may lose 5 % before it counts, a common noise floor for loopback runs. */
const COMPARE_OPTIONS = {
  threshold: {
    flag: '--threshold',
    kind: 'number',
    min: 0,
    max: 10,
    help: 'compare: a change smaller than this fraction is no regression',
    defaultText: '0.05',
  },
  alpha: {
    flag: '--alpha',
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 0.5,
    help: 'compare: significance level of the test',
    defaultText: '0.05',
  },
  json: { flag: '--json', short: 'j', kind: 'boolean', help: 'compare: print the comparison as JSON' },
} as const satisfies OptionTable;

function compareCommand(tool: Tool, argv: string[]): number {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv, COMPARE_OPTIONS, { positionals: 2 });
    if (parsed.action === 'run' && parsed.positionals.length !== 2) {
      throw new OptionError('compare needs two --json files: compare A.json B.json');
    }
  } catch (error) {
    if (!(error instanceof OptionError)) throw error;
    process.stderr.write(formatUsageError(`${tool.name} compare`, error, usage(tool)));
    return EXIT.usage;
  }
  if (parsed.action !== 'run') return answerInfo(tool, parsed.action);
  const [pathA, pathB] = parsed.positionals as [string, string];
  let comparison;
  try {
    comparison = compareRuns(
      { path: pathA, run: readRunFile(pathA) },
      { path: pathB, run: readRunFile(pathB) },
      (parsed.values.get('alpha') as number | undefined) ?? 0.05,
      (parsed.values.get('threshold') as number | undefined) ?? 0.05,
    );
  } catch (error) {
    if (!(error instanceof CompareInputError)) throw error;
    process.stderr.write(`${tool.name} compare: ${error.message}\n`);
    return EXIT.usage;
  }
  process.stdout.write(
    parsed.values.get('json') === true ? `${JSON.stringify(comparison)}\n` : formatComparison(comparison, tool.name),
  );
  return comparison.regressed ? EXIT.failed : EXIT.ok;
}
