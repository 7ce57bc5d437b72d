import { checkOption, type OptionSpec, type OptionTable } from '@fib/core/cli';
import type { Histogram } from 'hdr-histogram-js';
import { DEFAULT_HOST, DEFAULT_PORT, MAX_N_LIMIT } from '@fib/protocol';

/** How requests are spread in time at a fixed `rate`. */
export type Arrivals = 'uniform' | 'poisson';

/** What a load run does. Every field is optional; the defaults are perf2's. */
export interface LoadOptions {
  host?: string;
  port?: number;
  /** The n of every request. Default 1 (fib-perf1 uses 30). */
  n?: number;
  /** Connections opened at once. Default 1. */
  connections?: number;
  /** Requests in flight per connection. Default 1. */
  pipeline?: number;
  /** Seconds to measure for (after the warmup). Default: until `requests` or the signal. */
  duration?: number;
  /** Requests to measure (after the warmup), over all connections. Default: no limit. */
  requests?: number;
  /**
   * Requests per second over all connections, on a schedule. Latency is then
   * measured from each request's intended send time, so a stall counts
   * against every request it delayed (no coordinated omission, as in wrk2).
   * Default: closed loop, each answer frees a slot that is refilled at once.
   */
  rate?: number;
  /**
   * With `rate`: `uniform` (default) sends at fixed intervals; `poisson` draws
   * exponential gaps with the same mean, as independent users would arrive.
   */
  arrivals?: Arrivals;
  /** Seconds of load before measuring; its answers are checked but kept apart. Default 0. */
  warmup?: number;
  /** Milliseconds to wait for each connection to open. Default 5000. */
  connectTimeout?: number;
  /** Stops the run (as Ctrl-C does); the result covers what was measured until then. */
  signal?: AbortSignal;
  /** Called with the latency in microseconds of every correct answer measured. */
  onAnswer?: (latencyMicros: number) => void;
  /** Called once a second while measuring. */
  onTick?: (tick: Tick) => void;
  /**
   * Called with each interval's latency histogram (microseconds) while
   * measuring: every second, and for the part-second at the end. The
   * histogram is reused afterwards: read or encode it before returning.
   */
  onInterval?: (interval: LatencyInterval) => void;
  /** Called once per distinct problem (refused connection, ERR code, wrong answer, ...). */
  onProblem?: (message: string) => void;
}

/** One second of a run. */
export interface Tick {
  /** Seconds since measuring began. */
  elapsed: number;
  /** Correct answers per second over the last interval. */
  rate: number;
  /** Failed requests (ERR, wrong, malformed or lost) over the last interval. */
  failed: number;
  /** Correct answers measured so far. */
  total: number;
}

export interface LatencyInterval {
  /** Start and end, in milliseconds since the epoch. */
  startMs: number;
  endMs: number;
  histogram: Histogram;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  n: number;
  connections: number;
  pipeline: number;
  duration: number | null;
  requests: number | null;
  rate: number | null;
  arrivals: Arrivals;
  warmup: number;
  connectTimeout: number;
}

/** Servers refuse more by default (`--max-connections 10000`), so more would only measure refusals. */
const MAX_CONNECTIONS = 10_000;
/** In-flight bookkeeping is a ring of 2^k slots per connection; 65536 keeps it at 512 KB. */
const MAX_PIPELINE = 65_536;
/** The longest sensible timer: setTimeout() cannot wait longer than 2^31 - 1 ms (about 24.8 days). */
const MAX_SECONDS = 2_000_000;

/**
 * The options of a load run: the CLI's flags (`--x`, short aliases), the
 * API's checks (`options.x`) and the help text come from this one table.
 */
export const LOAD_OPTIONS = {
  host: { flag: '--host', kind: 'string', arg: 'HOST', help: 'server address', defaultText: DEFAULT_HOST },
  port: {
    flag: '--port',
    kind: 'integer',
    min: 1,
    max: 65_535,
    help: 'server port',
    defaultText: String(DEFAULT_PORT),
  },
  n: { flag: '--n', kind: 'integer', min: 0, max: MAX_N_LIMIT, help: 'the n of every request' },
  connections: {
    flag: '--connections',
    arg: 'C',
    short: 'c',
    kind: 'integer',
    min: 1,
    max: MAX_CONNECTIONS,
    help: 'connections, all opened at the start',
    defaultText: '1',
  },
  pipeline: {
    flag: '--pipeline',
    arg: 'P',
    short: 'p',
    kind: 'integer',
    min: 1,
    max: MAX_PIPELINE,
    help: 'requests in flight per connection',
    defaultText: '1',
  },
  duration: {
    flag: '--duration',
    short: 'd',
    kind: 'seconds',
    min: 0,
    minExclusive: true,
    max: MAX_SECONDS,
    help: 'measure for this long (10s, 2m; a plain number is seconds)',
  },
  requests: {
    flag: '--requests',
    arg: 'COUNT',
    short: 'n',
    kind: 'integer',
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    help: 'measure this many requests, over all connections',
  },
  rate: {
    flag: '--rate',
    arg: 'R',
    short: 'R',
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1e9,
    help: 'send R requests/sec in all on a schedule; latency then counts from each intended send time',
  },
  arrivals: {
    flag: '--arrivals',
    kind: 'choice',
    choices: ['uniform', 'poisson'],
    help: 'with --rate: fixed gaps, or random (exponential) gaps of the same mean',
    defaultText: 'uniform',
  },
  warmup: {
    flag: '--warmup',
    kind: 'seconds',
    min: 0,
    max: MAX_SECONDS,
    help: 'send load for this long before measuring',
    defaultText: '0',
  },
} as const satisfies OptionTable;

/** API only: the CLI has no use for it. Milliseconds, as socket timeouts are. */
const CONNECT_TIMEOUT: OptionSpec = {
  flag: '--connect-timeout',
  kind: 'number',
  min: 0,
  minExclusive: true,
  max: 2 ** 31 - 1,
  help: '',
};

export type LoadOptionName = keyof typeof LOAD_OPTIONS;

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Validates once, at the public boundary; reads own properties only and never writes to `options`. */
export function resolveOptions(options: LoadOptions, defaults: { n?: number } = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object');
  }
  const own = (key: keyof LoadOptions): unknown => (Object.hasOwn(options, key) ? options[key] : undefined);
  const pick = <T>(key: LoadOptionName, fallback: T): T => {
    const value = own(key);
    return value === undefined ? fallback : (checkOption(LOAD_OPTIONS[key], value, `options.${key}`) as T);
  };
  for (const key of ['onAnswer', 'onTick', 'onInterval', 'onProblem'] as const) {
    const value = own(key);
    if (value !== undefined && typeof value !== 'function') {
      throw new TypeError(`options.${key} must be a function`);
    }
  }
  const signal = own('signal');
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError('options.signal must be an AbortSignal');
  }
  const host = own('host') ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host === '') {
    throw new TypeError(`options.host must be a non-empty string (got ${describe(host)})`);
  }
  const connectTimeout = own('connectTimeout');
  return {
    host,
    port: pick('port', DEFAULT_PORT),
    n: pick('n', defaults.n ?? 1),
    connections: pick('connections', 1),
    pipeline: pick('pipeline', 1),
    duration: pick<number | null>('duration', null),
    requests: pick<number | null>('requests', null),
    rate: pick<number | null>('rate', null),
    arrivals: pick<Arrivals>('arrivals', 'uniform'),
    warmup: pick('warmup', 0),
    // A loopback connect is answered at once; 5 s leaves room for a remote host's SYN retries.
    connectTimeout:
      connectTimeout === undefined
        ? 5000
        : (checkOption(CONNECT_TIMEOUT, connectTimeout, 'options.connectTimeout') as number),
  };
}
