import { DEFAULT_HOST, DEFAULT_PORT, MAX_N_LIMIT } from '@fib/protocol';

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
   * Requests per second over all connections, on a constant schedule. Latency
   * is then measured from each request's intended send time, so a stall
   * counts against every request it delayed (no coordinated omission, as in
   * wrk2). Default: closed loop, each answer frees a slot that is refilled at once.
   */
  rate?: number;
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
  warmup: number;
  connectTimeout: number;
}

type Kind = 'integer' | 'number';

interface NumericSpec {
  kind: Kind;
  min: number;
  /** Whether `min` itself is allowed. */
  minInclusive: boolean;
  max: number;
}

/** Servers refuse more by default (`--max-connections 10000`), so more would only measure refusals. */
const MAX_CONNECTIONS = 10_000;
/** In-flight bookkeeping is a ring of 2^k slots per connection; 65536 keeps it at 512 KB. */
const MAX_PIPELINE = 65_536;
/** The longest sensible timer: setTimeout() cannot wait longer than 2^31 - 1 ms (about 24.8 days). */
const MAX_SECONDS = 2_000_000;

/** The numeric options, checked the same way for the API (`options.x`) and the CLI (`--x`). */
export const NUMERIC_OPTIONS = {
  port: { kind: 'integer', min: 1, minInclusive: true, max: 65_535 },
  n: { kind: 'integer', min: 0, minInclusive: true, max: MAX_N_LIMIT },
  connections: { kind: 'integer', min: 1, minInclusive: true, max: MAX_CONNECTIONS },
  pipeline: { kind: 'integer', min: 1, minInclusive: true, max: MAX_PIPELINE },
  duration: { kind: 'number', min: 0, minInclusive: false, max: MAX_SECONDS },
  requests: { kind: 'integer', min: 1, minInclusive: true, max: Number.MAX_SAFE_INTEGER },
  rate: { kind: 'number', min: 0, minInclusive: false, max: 1e9 },
  warmup: { kind: 'number', min: 0, minInclusive: true, max: MAX_SECONDS },
  connectTimeout: { kind: 'number', min: 0, minInclusive: false, max: 2 ** 31 - 1 },
} as const satisfies Record<string, NumericSpec>;

export type NumericOption = keyof typeof NUMERIC_OPTIONS;

/** Throws a TypeError or RangeError naming `label` when `value` breaks the option's rule. */
export function checkNumeric(name: NumericOption, value: unknown, label: string): number {
  const spec: NumericSpec = NUMERIC_OPTIONS[name];
  const what = spec.kind === 'integer' ? 'an integer' : 'a number';
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${label} must be ${what} (got ${describe(value)})`);
  }
  const tooLow = spec.minInclusive ? value < spec.min : value <= spec.min;
  if ((spec.kind === 'integer' && !Number.isInteger(value)) || tooLow || value > spec.max) {
    const low = spec.minInclusive ? `from ${spec.min}` : `above ${spec.min}`;
    throw new RangeError(`${label} must be ${what} ${low} to ${spec.max} (got ${value})`);
  }
  return value;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Validates once, at the public boundary; reads own properties only and never writes to `options`. */
export function resolveOptions(options: LoadOptions, defaults: { n?: number } = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object');
  }
  const own = (key: keyof LoadOptions): unknown => (Object.hasOwn(options, key) ? options[key] : undefined);
  const numeric = (key: NumericOption, fallback: number | null): number | null => {
    const value = own(key);
    return value === undefined ? fallback : checkNumeric(key, value, `options.${key}`);
  };
  const host = own('host') ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host === '') {
    throw new TypeError(`options.host must be a non-empty string (got ${describe(host)})`);
  }
  for (const key of ['onAnswer', 'onTick', 'onProblem'] as const) {
    const value = own(key);
    if (value !== undefined && typeof value !== 'function') {
      throw new TypeError(`options.${key} must be a function`);
    }
  }
  const signal = own('signal');
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError('options.signal must be an AbortSignal');
  }
  return {
    host,
    port: numeric('port', DEFAULT_PORT)!,
    n: numeric('n', defaults.n ?? 1)!,
    connections: numeric('connections', 1)!,
    pipeline: numeric('pipeline', 1)!,
    duration: numeric('duration', null),
    requests: numeric('requests', null),
    rate: numeric('rate', null),
    warmup: numeric('warmup', 0)!,
    // A loopback connect is answered at once; 5 s leaves room for a remote host's SYN retries.
    connectTimeout: numeric('connectTimeout', 5000)!,
  };
}
