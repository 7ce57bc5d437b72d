import { availableParallelism } from 'node:os';
import { DEFAULT_HOST, DEFAULT_MAX_LINE, DEFAULT_MAX_N, DEFAULT_PORT, MAX_N_LIMIT } from '@fib/protocol';

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
  /** Seconds without a byte before a connection is closed; 0 disables. */
  idleTimeout: number;
  /** Seconds a graceful shutdown waits for in-flight work. */
  shutdownTimeout: number;
}

export type StartOptions = Partial<ServerOptions>;
export type OptionName = keyof ServerOptions;

interface OptionSpec {
  readonly flag: string;
  readonly kind: 'string' | 'integer' | 'seconds';
  readonly min?: number;
  readonly max?: number;
  readonly help: string;
  readonly fallback: () => string | number;
}

/** A wrong option: the CLI prints it with the usage and exits 2; the API throws it. */
export class OptionError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

// 2^31 - 1 milliseconds is the longest timer Node arms; keep seconds below it.
const MAX_SECONDS = 2_000_000;

export const OPTION_SPECS: { readonly [K in OptionName]: OptionSpec } = {
  host: { flag: '--host', kind: 'string', help: 'address to bind (:: for all)', fallback: () => DEFAULT_HOST },
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
  idleTimeout: {
    flag: '--idle-timeout',
    kind: 'seconds',
    min: 0,
    max: MAX_SECONDS,
    help: 'seconds without a byte before a connection is closed; 0 disables',
    fallback: () => 300,
  },
  shutdownTimeout: {
    flag: '--shutdown-timeout',
    kind: 'seconds',
    min: 0,
    max: MAX_SECONDS,
    help: 'seconds a graceful shutdown waits for in-flight work',
    fallback: () => 10,
  },
};

export const OPTION_NAMES = Object.keys(OPTION_SPECS) as OptionName[];

/** What a strategy says about the options: which ones it refuses, and its own defaults. */
export interface OptionPolicy {
  /** It runs a pool of workers sized by --workers; without one, --workers is refused. */
  readonly hasWorkerPool: boolean;
  readonly defaults?: Partial<ServerOptions>;
}

type Namer = (name: OptionName) => string;
const apiName: Namer = (name) => `options.${name}`;
const cliName: Namer = (name) => OPTION_SPECS[name].flag;

function checkValue(name: OptionName, value: unknown, label: Namer): string | number {
  const spec = OPTION_SPECS[name];
  if (spec.kind === 'string') {
    if (typeof value !== 'string' || value.length === 0) {
      throw new OptionError(`${label(name)} must be a non-empty string (got ${describe(value)})`);
    }
    return value;
  }
  const integer = spec.kind === 'integer';
  const ok = typeof value === 'number' && Number.isFinite(value) && (!integer || Number.isInteger(value));
  const range = `${integer ? 'an integer' : 'a number of seconds'} from ${spec.min} to ${spec.max}`;
  if (!ok || value < spec.min! || value > spec.max!) {
    throw new OptionError(`${label(name)} must be ${range} (got ${describe(value)})`);
  }
  return value;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function resolve(given: ReadonlyMap<OptionName, unknown>, policy: OptionPolicy, label: Namer): ServerOptions {
  if (!policy.hasWorkerPool && given.has('workers')) {
    throw new OptionError(`${label('workers')} does not apply to this strategy, which has no worker pool`);
  }
  const resolved: Record<string, string | number> = {};
  for (const name of OPTION_NAMES) {
    const value = given.has(name) ? given.get(name) : (policy.defaults?.[name] ?? OPTION_SPECS[name].fallback());
    resolved[name] = checkValue(name, value, label);
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
    if (!(OPTION_NAMES as string[]).includes(key)) {
      throw new TypeError(`options.${key} is not a known option (known: ${OPTION_NAMES.join(', ')})`);
    }
    if (value === undefined) continue;
    const kind = OPTION_SPECS[key as OptionName].kind;
    if (typeof value !== (kind === 'string' ? 'string' : 'number')) {
      throw new TypeError(`options.${key} must be a ${kind === 'string' ? 'string' : 'number'} (got ${typeof value})`);
    }
    given.set(key as OptionName, value);
  }
  return resolve(given, policy, apiName);
}

export type ParsedArgs =
  | { readonly action: 'serve'; readonly options: ServerOptions }
  | { readonly action: 'help' }
  | { readonly action: 'version' };

const BY_FLAG = new Map(OPTION_NAMES.map((name) => [OPTION_SPECS[name].flag, name]));

/** Parses a server's argv (`--flag value` or `--flag=value`); throws OptionError on anything wrong. */
export function parseArgs(argv: readonly string[], policy: OptionPolicy): ParsedArgs {
  const given = new Map<OptionName, unknown>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { action: 'help' };
    if (arg === '--version' || arg === '-v') return { action: 'version' };
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const name = BY_FLAG.get(flag);
    if (!arg.startsWith('--') || name === undefined) {
      throw new OptionError(
        arg.startsWith('-') ? `unknown option ${flag}` : `unexpected argument ${JSON.stringify(arg)}`,
      );
    }
    if (given.has(name)) throw new OptionError(`${flag} given twice`);
    let raw: string | undefined = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (raw === undefined || (eq === -1 && raw.startsWith('--'))) throw new OptionError(`${flag} needs a value`);
    raw = raw.trim();
    const kind = OPTION_SPECS[name].kind;
    given.set(name, kind === 'string' ? raw : /^[+-]?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw);
  }
  return { action: 'serve', options: resolve(given, policy, cliName) };
}

/** The usage text of a server bin. */
export function usage(bin: string, description: string, policy: OptionPolicy): string {
  const lines = [`Usage: ${bin} [options]`, '', description, '', 'Options:'];
  for (const name of OPTION_NAMES) {
    if (name === 'workers' && !policy.hasWorkerPool) continue;
    const spec = OPTION_SPECS[name];
    const fallback = policy.defaults?.[name] ?? (name === 'workers' ? 'cores' : spec.fallback());
    lines.push(
      `  ${`${spec.flag} <${spec.kind === 'string' ? 'addr' : spec.kind === 'seconds' ? 's' : 'n'}>`.padEnd(26)}${spec.help} (default ${fallback})`,
    );
  }
  lines.push(`  ${'--help'.padEnd(26)}show this help`, `  ${'--version'.padEnd(26)}show the version`);
  return lines.join('\n');
}
