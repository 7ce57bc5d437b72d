import { availableParallelism } from 'node:os';
import { DEFAULT_HOST, DEFAULT_MAX_LINE, DEFAULT_MAX_N, DEFAULT_PORT, MAX_N_LIMIT } from '@fib/protocol';
import {
  checkOption,
  envName,
  formatOptions,
  OptionError,
  parseCommandLine,
  type OptionSpec,
  type OptionValue,
} from './command-line.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type Logger, type LogLevel } from './log.js';

export { OptionError } from './command-line.js';

/** Every option of a server, resolved. Names are the CLI flags camelCased. */
export interface ServerOptions {
  host: string;
  port: number;
  workers: number;
  maxN: number;
  maxLine: number;
  maxPipeline: number;
  maxQueue: number;
  maxConnections: number;
  /** Requests with n at most this are computed on the event loop, not sent to a worker; 0: off. */
  inlineMaxN: number;
  /** Seconds without a byte before a connection is closed; 0 disables. */
  idleTimeout: number;
  /** Seconds a graceful shutdown waits for in-flight work. */
  shutdownTimeout: number;
  /** Where Prometheus metrics are served (0: a free port); null: not served. */
  metricsPort: number | null;
  logFormat: LogFormat;
  logLevel: LogLevel;
}

/**
 * The library API's options: the CLI's, camelCased, and a `logger` (a pino
 * logger fits) for what the server reports; without one it reports nothing.
 */
export type StartOptions = Partial<ServerOptions> & { readonly logger?: Logger };
export type OptionName = keyof ServerOptions;

/**
 * A row of the server option table: the shared command-line row plus the
 * default, computed when needed (`--workers` follows the machine). A default
 * of null means "off" and is not checked.
 */
export interface ServerOptionSpec extends OptionSpec {
  readonly fallback: () => OptionValue | null;
}

// 2^31 - 1 milliseconds is the longest timer Node arms; keep seconds below it.
const MAX_SECONDS = 2_000_000;

/**
 * The one table of server options: the parser, the API's checks, the help
 * text and the environment variables (FIB_<FLAG>) all come from it. A new
 * option is a new row here and a field in ServerOptions.
 */
export const OPTION_SPECS: { readonly [K in OptionName]: ServerOptionSpec } = {
  host: {
    flag: '--host',
    kind: 'string',
    arg: 'ADDR',
    help: 'address to bind (:: for all)',
    fallback: () => DEFAULT_HOST,
  },
  port: {
    flag: '--port',
    kind: 'integer',
    min: 0,
    max: 65535,
    help: 'port to listen on; 0 picks a free one',
    fallback: () => DEFAULT_PORT,
  },
  workers: {
    flag: '--workers',
    kind: 'integer',
    min: 1,
    max: 1024,
    help: 'threads or processes in the pool',
    fallback: () => availableParallelism(),
  },
  maxN: {
    flag: '--max-n',
    kind: 'integer',
    min: 0,
    max: MAX_N_LIMIT,
    help: 'largest n served',
    fallback: () => DEFAULT_MAX_N,
  },
  maxLine: {
    // "78\n" is the shortest line that must fit.
    flag: '--max-line',
    kind: 'integer',
    min: 3,
    max: 1 << 20,
    help: 'bytes allowed in one request line',
    fallback: () => DEFAULT_MAX_LINE,
  },
  maxPipeline: {
    flag: '--max-pipeline',
    kind: 'integer',
    min: 1,
    max: 1 << 20,
    help: 'requests one connection may have pending before the server stops reading it',
    // Deep enough for any benchmark's pipelining, small enough to bound one connection's memory.
    fallback: () => 1024,
  },
  maxQueue: {
    flag: '--max-queue',
    kind: 'integer',
    min: 1,
    max: 1 << 30,
    help: 'pending compute jobs server-wide; beyond it requests get ERR busy',
    fallback: () => 10_000,
  },
  maxConnections: {
    flag: '--max-connections',
    kind: 'integer',
    min: 1,
    max: 1 << 20,
    help: 'open connections; beyond it a new one gets ERR busy and is closed',
    fallback: () => 10_000,
  },
  inlineMaxN: {
    flag: '--inline-max-n',
    kind: 'integer',
    min: 0,
    max: MAX_N_LIMIT,
    help: 'compute n up to this on the event loop, cheaper than the hop to a worker (the crossover, measured: n = 19 to 22); 15 is the production setting; 0: off',
    // Off, so that a strategy shows its own mechanism unless asked; each strategy's README gives its crossover.
    fallback: () => 0,
  },
  idleTimeout: {
    flag: '--idle-timeout',
    kind: 'seconds',
    min: 0,
    max: MAX_SECONDS,
    help: 'time without a byte before a connection is closed (30, 5m); 0 disables',
    fallback: () => 300,
  },
  shutdownTimeout: {
    flag: '--shutdown-timeout',
    kind: 'seconds',
    min: 0,
    max: MAX_SECONDS,
    help: 'time a graceful shutdown waits for in-flight work (10, 500ms)',
    fallback: () => 10,
  },
  metricsPort: {
    flag: '--metrics-port',
    kind: 'integer',
    min: 0,
    max: 65535,
    help: 'serve Prometheus metrics at /metrics on this port of --host; 0 picks a free one',
    fallback: () => null,
  },
  logFormat: {
    flag: '--log-format',
    kind: 'choice',
    choices: LOG_FORMATS,
    help: 'text (human lines on stderr) or json (pino records on stderr)',
    fallback: () => 'text',
  },
  logLevel: {
    flag: '--log-level',
    kind: 'choice',
    choices: LOG_LEVELS,
    help: 'least severe level logged; debug adds a line per connection opened and closed',
    fallback: () => 'info',
  },
};

export const OPTION_NAMES = Object.keys(OPTION_SPECS) as OptionName[];

/** The environment's names for the options: FIB_<FLAG>, and PORT as most platforms set it. */
export const ENV_PREFIX = 'FIB_';
export const ENV_ALIASES = { PORT: 'port' } as const;

/** What a strategy says about the options: which ones it refuses, and its own defaults. */
export interface OptionPolicy {
  /** It runs a pool of workers sized by --workers; without one, --workers is refused. */
  readonly hasWorkerPool: boolean;
  /** Its requests are sent from the connection's process to workers; without it, --inline-max-n is refused. */
  readonly dispatchesToWorkers?: boolean;
  readonly defaults?: Partial<ServerOptions>;
}

type Namer = (name: OptionName) => string;
const apiName: Namer = (name) => `options.${name}`;

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Options a strategy does not have. */
function inapplicable(policy: OptionPolicy): OptionName[] {
  const names: OptionName[] = policy.hasWorkerPool ? [] : ['workers'];
  if (policy.dispatchesToWorkers !== true) names.push('inlineMaxN');
  return names;
}

function resolve(given: ReadonlyMap<OptionName, unknown>, policy: OptionPolicy, label: Namer): ServerOptions {
  if (!policy.hasWorkerPool && given.has('workers')) {
    throw new OptionError(`${label('workers')} does not apply to this strategy, which has no worker pool`);
  }
  if (policy.dispatchesToWorkers !== true && given.has('inlineMaxN')) {
    throw new OptionError(`${label('inlineMaxN')} does not apply to this strategy, which computes where it reads`);
  }
  const resolved: Record<string, OptionValue | null> = {};
  for (const name of OPTION_NAMES) {
    if (given.has(name)) {
      resolved[name] = checkOption(OPTION_SPECS[name], given.get(name), label(name));
      continue;
    }
    const fallback = policy.defaults?.[name] ?? OPTION_SPECS[name].fallback();
    resolved[name] = fallback === null ? null : checkOption(OPTION_SPECS[name], fallback, label(name));
  }
  return resolved as unknown as ServerOptions;
}

/**
 * Validates the library API's options. Reads own properties only and never
 * writes to the caller's object. TypeError for a value of the wrong type or an
 * unknown name, RangeError (OptionError) for a value out of range.
 */
export function resolveOptions(options: StartOptions | undefined, policy: OptionPolicy): ServerOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`options must be an object (got ${describe(options)})`);
  }
  const given = new Map<OptionName, unknown>();
  for (const key of Object.keys(options ?? {})) {
    const value = (options as Record<string, unknown>)[key];
    // Not an option of the table: startServer takes it.
    if (key === 'logger') continue;
    if (!(OPTION_NAMES as string[]).includes(key)) {
      throw new TypeError(`options.${key} is not a known option (known: ${OPTION_NAMES.join(', ')})`);
    }
    if (value === undefined) continue;
    const kind = OPTION_SPECS[key as OptionName].kind;
    const type = kind === 'string' || kind === 'choice' ? 'string' : kind === 'boolean' ? 'boolean' : 'number';
    if (typeof value !== type) {
      throw new TypeError(`options.${key} must be a ${type} (got ${typeof value})`);
    }
    given.set(key as OptionName, value);
  }
  return resolve(given, policy, apiName);
}

export type ParsedArgs =
  | { readonly action: 'serve'; readonly options: ServerOptions }
  | { readonly action: 'help' }
  | { readonly action: 'version' };

/**
 * Parses a server's argv (`--flag value`, `--flag=value`, `-h`, `-v`) and,
 * for what no flag gives, `env` (FIB_<FLAG>, then PORT); throws OptionError on
 * anything wrong, naming the flag or the variable. Variables of options the
 * strategy does not have are ignored, so one environment can serve every strategy.
 */
export function parseArgs(argv: readonly string[], policy: OptionPolicy, env?: NodeJS.ProcessEnv): ParsedArgs {
  const parsed = parseCommandLine(argv, OPTION_SPECS, {
    ...(env ? { env: { vars: env, prefix: ENV_PREFIX, aliases: ENV_ALIASES, ignore: inapplicable(policy) } } : {}),
  });
  if (parsed.action !== 'run') return { action: parsed.action };
  const given = parsed.values as ReadonlyMap<OptionName, OptionValue>;
  return {
    action: 'serve',
    options: resolve(given, policy, (name) => parsed.sources.get(name) ?? OPTION_SPECS[name].flag),
  };
}

/** The usage text of a server bin. */
export function usage(bin: string, description: string, policy: OptionPolicy): string {
  const skip = inapplicable(policy);
  const table = Object.fromEntries(
    OPTION_NAMES.filter((name) => !skip.includes(name)).map((name) => {
      const spec = OPTION_SPECS[name];
      const fallback = policy.defaults?.[name] ?? (name === 'workers' ? 'cores' : spec.fallback());
      return [name, { ...spec, defaultText: fallback === null ? 'off' : String(fallback) }];
    }),
  );
  const variables = OPTION_NAMES.filter((name) => !skip.includes(name)).map((name) =>
    envName(OPTION_SPECS[name], ENV_PREFIX),
  );
  return [
    `Usage: ${bin} [options]`,
    '',
    description,
    '',
    'Options:',
    ...formatOptions(table),
    '',
    'Durations take a unit (500ms, 10s, 2m); a plain number is seconds.',
    '',
    'Environment: every option can also be set as FIB_<OPTION>, and PORT sets the port when FIB_PORT',
    'does not; a flag wins over the environment, and a bad value is an error naming the variable:',
    ...wrap(variables.join(', '), 96).map((line) => `  ${line}`),
  ].join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}
