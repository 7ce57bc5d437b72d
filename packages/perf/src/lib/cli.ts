import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { runLoad } from './engine.js';
import { checkNumeric, type LoadOptions, type NumericOption } from './options.js';
import { formatSummary } from './report.js';
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

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** What a shell reports for a process killed by SIGINT (128 + 2). */
const EXIT_INTERRUPTED = 130;

function usage(tool: Tool): string {
  return `Usage: ${tool.name} [options]

${tool.about}

Options:
  --host HOST          server address (default 127.0.0.1)
  --port PORT          server port (default 25000)
  --n N                the n of every request, 0 to 78 (default ${tool.defaultN})
  --connections C      connections, all opened at the start (default 1)
  --pipeline P         requests in flight per connection (default 1)
  --duration SECONDS   measure for this long (default: until --requests or Ctrl-C)
  --requests COUNT     measure this many requests, over all connections
  --rate R             send R requests/sec over all connections on a fixed schedule;
                       latency then counts from each request's intended send time
  --warmup SECONDS     send load for this long before measuring (default 0)
  --json               print one JSON summary object on stdout and nothing else there
  --quiet              no ${tool.progress === 'answer' ? 'per-answer' : 'per-second'} lines, no live problem reports
  --help               this help
  --version            the version

Ctrl-C stops the run and prints the summary (a second Ctrl-C quits at once).
Exit status: 0 when some answers were correct and none wrong or malformed,
1 otherwise, 2 for bad usage.
`;
}

class UsageError extends Error {}

const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  n: { type: 'string' },
  connections: { type: 'string' },
  pipeline: { type: 'string' },
  duration: { type: 'string' },
  requests: { type: 'string' },
  rate: { type: 'string' },
  warmup: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean' },
  version: { type: 'boolean' },
} as const;

const NUMERIC_FLAGS = [
  'port',
  'n',
  'connections',
  'pipeline',
  'duration',
  'requests',
  'rate',
  'warmup',
] as const satisfies readonly NumericOption[];

/** Accepts what a person types for a count or a number of seconds: 10, 0.5, 1e6. */
const NUMBER_TEXT = /^\d+(\.\d+)?(e\d+)?$/i;

export interface ParsedCommand {
  action: 'run' | 'help' | 'version';
  options: LoadOptions;
  json: boolean;
  quiet: boolean;
}

/** Parses argv; throws a UsageError with a one-line message for anything wrong. */
export function parseCommand(argv: string[]): ParsedCommand {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const action = values.help ? 'help' : values.version ? 'version' : 'run';
  const options: LoadOptions = {};
  if (values.host !== undefined) {
    if (values.host === '') throw new UsageError('--host must not be empty');
    options.host = values.host as string;
  }
  for (const name of NUMERIC_FLAGS) {
    const text = values[name] as string | undefined;
    if (text === undefined) continue;
    const kind = name === 'duration' || name === 'rate' || name === 'warmup' ? 'a number' : 'an integer';
    if (!NUMBER_TEXT.test(text.trim())) throw new UsageError(`--${name} must be ${kind} (got ${JSON.stringify(text)})`);
    try {
      options[name] = checkNumeric(name, Number(text), `--${name}`);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  return { action, options, json: values.json === true, quiet: values.quiet === true };
}

/** Collects progress lines and writes them in one call per turn of the event loop. */
class LineWriter {
  #pending = '';
  #scheduled = false;
  constructor(readonly stream: NodeJS.WritableStream) {}

  line(text: string): void {
    this.#pending += text + '\n';
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#pending !== '') this.stream.write(this.#pending);
    this.#pending = '';
  }
}

function version(): string {
  // dist/<entry>.js and its chunks sit one level below package.json.
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

/** Runs a tool as a command; resolves with its exit code. */
export async function main(tool: Tool, argv: string[] = process.argv.slice(2)): Promise<number> {
  let command: ParsedCommand;
  try {
    command = parseCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${tool.name}: ${error.message}\n\n${usage(tool)}`);
    return EXIT_USAGE;
  }
  if (command.action === 'help') {
    process.stdout.write(usage(tool));
    return EXIT_OK;
  }
  if (command.action === 'version') {
    process.stdout.write(`${version()}\n`);
    return EXIT_OK;
  }

  const { json, quiet } = command;
  // With --json, stdout carries the summary object alone; progress moves to stderr.
  const progress = new LineWriter(json ? process.stderr : process.stdout);
  const problems = new LineWriter(process.stderr);
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts > 1) process.exit(EXIT_INTERRUPTED);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const options: LoadOptions = { ...command.options, signal: controller.signal };
  if (!quiet) {
    options.onProblem = (message) => problems.line(`${tool.name}: ${message}`);
    if (tool.progress === 'answer') options.onAnswer = (micros) => progress.line((micros / 1e6).toFixed(6));
    else
      options.onTick = (tick) =>
        progress.line(`${tick.rate} reqs/sec${tick.failed > 0 ? ` (${tick.failed} failed)` : ''}`);
  }

  let result: LoadResult;
  try {
    result = await runLoad(options, { n: tool.defaultN });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.flush();
    problems.flush();
  }

  if (json) {
    process.stdout.write(JSON.stringify({ tool: tool.name, version: version(), ...result }) + '\n');
  } else if (result.stopReason !== 'connect-failed') {
    // When no connection opened, nothing was measured: the reason below is the whole story.
    process.stdout.write(formatSummary(tool.name, result));
  }
  const { ok, wrong, malformed } = result.requests;
  if (ok > 0 && wrong === 0 && malformed === 0) return EXIT_OK;
  // Without --quiet the reason why no connection opened is already on stderr.
  if (result.stopReason === 'connect-failed' && !quiet) return EXIT_FAILED;
  const why =
    result.stopReason === 'connect-failed'
      ? (result.problems[0] ?? 'no connection could be opened')
      : ok === 0
        ? `no correct answer${result.problems[0] ? ` (${result.problems[0]})` : ''}`
        : `${wrong + malformed} wrong or malformed answers`;
  process.stderr.write(`${tool.name}: ${why}\n`);
  return EXIT_FAILED;
}
