// The command-line layer every bin of the project shares (servers, fib-perf1,
// fib-perf2, the benchmark lab): one option table per bin gives the parser,
// the API's validation and the help text, so they can never disagree.
// node:util parseArgs splits the words (short flags, `-c4`, `--x=y`, `--`);
// this module checks them, reads the environment, and words every error the
// same way.
import { parseArgs } from 'node:util';
import { closestMatch } from 'leven';
import ms from 'ms';

/** Exit code for a wrong command line, as most Unix tools use. */
export const EXIT_USAGE = 2;

/**
 * How a value is written and checked:
 * - `seconds`: a duration, as a plain number of seconds (`1.5`) or with a unit (`500ms`, `10s`, `2m`);
 * - `choice`: one of `choices`.
 */
export type OptionKind = 'string' | 'integer' | 'number' | 'seconds' | 'boolean' | 'choice';
export type OptionValue = string | number | boolean;

/** One row of an option table. */
export interface OptionSpec {
  /** The long flag, `--max-n`. */
  readonly flag: string;
  /** A one-letter alias, without the dash (`c` for `-c`). */
  readonly short?: string;
  readonly kind: OptionKind;
  readonly min?: number;
  readonly max?: number;
  /** Whether `min` itself is refused (a duration above 0). */
  readonly minExclusive?: boolean;
  readonly choices?: readonly string[];
  /** The value's name in the help text (`N`, `HOST`); the kind gives one otherwise. */
  readonly arg?: string;
  readonly help: string;
  /** The default as the help shows it; omitted when there is none worth showing. */
  readonly defaultText?: string;
}

export type OptionTable = { readonly [name: string]: OptionSpec };

/** A wrong option or argument: a CLI prints it with its usage and exits 2, an API throws it. */
export class OptionError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** "an integer from 1 to 65536", "a number of seconds above 0, up to 2000000". */
export function describeRange(spec: OptionSpec): string {
  const what =
    spec.kind === 'integer'
      ? 'an integer'
      : spec.kind === 'seconds'
        ? 'a number of seconds'
        : spec.kind === 'choice'
          ? `one of ${spec.choices!.join(', ')}`
          : spec.kind === 'boolean'
            ? 'true or false'
            : spec.kind === 'string'
              ? 'a non-empty string'
              : 'a number';
  if (spec.min === undefined || spec.max === undefined) return what;
  return spec.minExclusive ? `${what} above ${spec.min}, up to ${spec.max}` : `${what} from ${spec.min} to ${spec.max}`;
}

/**
 * Checks a typed value against its row; `label` names it in the message
 * (`--port`, `options.port`, `FIB_PORT`). TypeError for a value of the wrong
 * JavaScript type, OptionError (a RangeError) for one out of range.
 */
export function checkOption(spec: OptionSpec, value: unknown, label: string): OptionValue {
  switch (spec.kind) {
    case 'boolean':
      if (typeof value !== 'boolean') throw new TypeError(`${label} must be true or false (got ${describe(value)})`);
      return value;
    case 'string':
    case 'choice':
      if (typeof value !== 'string') throw new TypeError(`${label} must be a string (got ${describe(value)})`);
      if (value === '' || (spec.choices !== undefined && !spec.choices.includes(value))) {
        throw new OptionError(`${label} must be ${describeRange(spec)} (got ${describe(value)})`);
      }
      return value;
    default: {
      if (typeof value !== 'number') {
        throw new TypeError(`${label} must be ${describeRange(spec)} (got ${describe(value)})`);
      }
      const low = spec.min === undefined || (spec.minExclusive ? value > spec.min : value >= spec.min);
      const high = spec.max === undefined || value <= spec.max;
      if (!Number.isFinite(value) || (spec.kind === 'integer' && !Number.isInteger(value)) || !low || !high) {
        throw new OptionError(`${label} must be ${describeRange(spec)} (got ${value})`);
      }
      return value;
    }
  }
}

/** A plain decimal number: what a person types for a count (`10`, `0.5`, `1e6`, `-1`). */
const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Seconds from `1.5` (a plain number is seconds) or a duration with a unit
 * (`500ms`, `10s`, `2m`, `1h`, as the ms package reads them); NaN for anything else.
 */
export function parseSeconds(text: string): number {
  const trimmed = text.trim();
  if (NUMBER_TEXT.test(trimmed)) return Number(trimmed);
  // ms() reads a bare number as milliseconds and accepts inner spaces ("10 s"): only unit forms get here.
  const millis = /^[+-]?[\d.]+[a-z]+$/i.test(trimmed) ? ms(trimmed as ms.StringValue) : undefined;
  return typeof millis === 'number' && Number.isFinite(millis) ? millis / 1000 : Number.NaN;
}

/** Converts what was typed (a flag's argument or a variable) to the row's type, then checks it. */
export function convertText(spec: OptionSpec, text: string, label: string): OptionValue {
  const trimmed = text.trim();
  switch (spec.kind) {
    case 'string':
    case 'choice':
      return checkOption(spec, trimmed, label);
    case 'boolean': {
      const lower = trimmed.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
      if (['0', 'false', 'no', 'off'].includes(lower)) return false;
      throw new OptionError(`${label} must be true or false (got ${describe(text)})`);
    }
    default: {
      const value = spec.kind === 'seconds' ? parseSeconds(trimmed) : NUMBER_TEXT.test(trimmed) ? Number(trimmed) : NaN;
      if (Number.isNaN(value)) {
        const hint = spec.kind === 'seconds' ? ', or a duration such as 500ms, 10s or 2m' : '';
        throw new OptionError(`${label} must be ${describeRange(spec)}${hint} (got ${describe(text)})`);
      }
      return checkOption(spec, value, label);
    }
  }
}

/** `--port` for a misspelt `--portt`, `--connections` for `--conn`; undefined when nothing is close. */
export function suggestFlag(given: string, flags: readonly string[]): string | undefined {
  const prefixed = flags.filter((flag) => given.length >= 4 && flag.startsWith(given));
  if (prefixed.length === 1) return prefixed[0];
  // At most three edits, and never more than a third of the word: `--n` must not suggest `--rate`,
  // `--strategy` should suggest `--strategies`.
  const maxDistance = Math.min(3, Math.max(1, Math.floor(given.length / 3)));
  return closestMatch(given, flags, { maxDistance });
}

/** Reading options from the environment: `FIB_MAX_N` for `--max-n`, plus aliases such as `PORT`. */
export interface EnvConfig {
  readonly vars: NodeJS.ProcessEnv;
  /** `FIB_`: the variable of `--max-n` is `FIB_MAX_N`. */
  readonly prefix: string;
  /** Other variables that set an option, weaker than the prefixed one: `{ PORT: 'port' }`. */
  readonly aliases?: { readonly [variable: string]: string };
  /** Options the bin does not have (a strategy without workers): their variables are ignored. */
  readonly ignore?: readonly string[];
}

/** The variable that sets an option: `--max-n` → `FIB_MAX_N`. */
export function envName(spec: OptionSpec, prefix: string): string {
  return prefix + spec.flag.slice(2).toUpperCase().replace(/-/g, '_');
}

export interface CommandLineConfig {
  /** Words that are not options: at most this many are accepted (default 0). */
  readonly positionals?: number;
  /** The environment to read; none by default (a library must not depend on it). */
  readonly env?: EnvConfig;
}

export interface ParsedCommandLine {
  readonly action: 'run' | 'help' | 'version';
  /** The options given, by the table's names, converted and checked. */
  readonly values: ReadonlyMap<string, OptionValue>;
  /** Where each value came from: its flag, or the variable's name. */
  readonly sources: ReadonlyMap<string, string>;
  readonly positionals: readonly string[];
}

const BUILTIN_HELP = { flag: '--help', short: 'h' } as const;
const BUILTIN_VERSION = { flag: '--version', short: 'v' } as const;

/**
 * Parses argv against a table. `-h`/`--help` and `-v`/`--version` are always
 * there; the first one met wins over anything after it. Throws an
 * OptionError whose message is one line, with a suggestion for a misspelt flag.
 */
export function parseCommandLine(
  argv: readonly string[],
  table: OptionTable,
  config: CommandLineConfig = {},
): ParsedCommandLine {
  const names = Object.keys(table);
  const byFlag = new Map(names.map((name) => [table[name]!.flag, name]));
  const byShort = new Map(names.filter((name) => table[name]!.short).map((name) => [table[name]!.short!, name]));
  const longFlags = [...byFlag.keys(), BUILTIN_HELP.flag, BUILTIN_VERSION.flag];
  const unknown = (flag: string): OptionError => {
    const suggestion = flag.startsWith('--') ? suggestFlag(flag, longFlags) : undefined;
    return new OptionError(`unknown option ${flag}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`);
  };

  // parseArgs is given every flag as a string or boolean, so that it only splits words; the checks are ours.
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: BUILTIN_HELP.short },
    version: { type: 'boolean', short: BUILTIN_VERSION.short },
  };
  for (const name of names) {
    const spec = table[name]!;
    options[spec.flag.slice(2)] = {
      type: spec.kind === 'boolean' ? 'boolean' : 'string',
      ...(spec.short ? { short: spec.short } : {}),
    };
  }
  const args = [...argv];
  for (const arg of args) {
    // `-port` would otherwise read as `-p ort`: a long flag with one dash is a typo worth naming.
    const single = /^-([a-z][a-z-]+)(=.*)?$/i.exec(arg);
    if (single && longFlags.includes(`--${single[1]}`)) {
      throw new OptionError(`unknown option -${single[1]} (did you mean --${single[1]}?)`);
    }
    if (arg === '--') break;
  }
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });

  const values = new Map<string, OptionValue>();
  const sources = new Map<string, string>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      if (positionals.length >= (config.positionals ?? 0)) {
        throw new OptionError(`unexpected argument ${JSON.stringify(token.value)}`);
      }
      positionals.push(token.value);
      continue;
    }
    const { rawName } = token;
    if (rawName === BUILTIN_HELP.flag || rawName === `-${BUILTIN_HELP.short}`) {
      return { action: 'help', values, sources, positionals };
    }
    if (rawName === BUILTIN_VERSION.flag || rawName === `-${BUILTIN_VERSION.short}`) {
      return { action: 'version', values, sources, positionals };
    }
    const name = rawName.startsWith('--') ? byFlag.get(rawName) : byShort.get(rawName.slice(1));
    if (name === undefined) throw unknown(rawName);
    const spec = table[name]!;
    const label = spec.flag;
    if (values.has(name)) throw new OptionError(`${label} given twice`);
    let value: OptionValue;
    if (spec.kind === 'boolean') {
      if (token.value !== undefined) throw new OptionError(`${label} takes no value (got ${describe(token.value)})`);
      value = true;
    } else {
      // A value that is itself a long flag means the value was forgotten: `--port --json`.
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) {
        throw new OptionError(`${label} needs a value`);
      }
      value = convertText(spec, token.value, label);
    }
    values.set(name, value);
    sources.set(name, rawName);
  }
  if (config.env) readEnvironment(table, config.env, values, sources);
  return { action: 'run', values, sources, positionals };
}

/** Fills in, from the environment, the options no flag gave. */
function readEnvironment(
  table: OptionTable,
  env: EnvConfig,
  values: Map<string, OptionValue>,
  sources: Map<string, string>,
): void {
  const aliases = Object.entries(env.aliases ?? {});
  for (const name of Object.keys(table)) {
    if (values.has(name) || env.ignore?.includes(name)) continue;
    const spec = table[name]!;
    // The prefixed variable first: FIB_PORT is meant for us, PORT may be meant for anything.
    const candidates = [envName(spec, env.prefix), ...aliases.filter(([, target]) => target === name).map(([v]) => v)];
    for (const variable of candidates) {
      const text = env.vars[variable];
      if (text === undefined || text === '') continue; // `PORT=` is as good as unset
      values.set(name, convertText(spec, text, variable));
      sources.set(name, variable);
      break;
    }
  }
}

/** `  -c, --connections N` */
function flagColumn(spec: OptionSpec): string {
  const arg =
    spec.kind === 'boolean'
      ? ''
      : ` ${spec.arg ?? (spec.kind === 'seconds' ? 'TIME' : spec.kind === 'choice' ? spec.choices!.join('|') : spec.kind === 'string' ? 'TEXT' : 'N')}`;
  return `${spec.short ? `-${spec.short}, ` : '    '}${spec.flag}${arg}`;
}

/** Width of the flag column: the longest flag of the tables in this project, plus two spaces. */
const FLAG_COLUMN = 30;

/** The option lines of a help text, from the table, in its order; `skip` leaves rows out. */
export function formatOptions(table: OptionTable, skip: readonly string[] = []): string[] {
  const lines: string[] = [];
  for (const [name, spec] of Object.entries(table)) {
    if (skip.includes(name)) continue;
    const column = flagColumn(spec);
    const pad =
      column.length + 2 > FLAG_COLUMN ? `\n  ${' '.repeat(FLAG_COLUMN)}` : ' '.repeat(FLAG_COLUMN - column.length);
    const fallback = spec.defaultText === undefined ? '' : ` (default ${spec.defaultText})`;
    lines.push(`  ${column}${pad}${spec.help}${fallback}`);
  }
  lines.push(
    `  ${'-h, --help'.padEnd(FLAG_COLUMN)}show this help`,
    `  ${'-v, --version'.padEnd(FLAG_COLUMN)}show the version`,
  );
  return lines;
}

/** What a bin prints for a wrong command line: the reason on the first line, then the usage. */
export function formatUsageError(bin: string, error: Error, usage: string): string {
  return `${bin}: ${error.message}\n\n${usage.endsWith('\n') ? usage : `${usage}\n`}`;
}

export interface Target {
  host?: string;
  port?: number;
}

/**
 * A positional target: `HOST:PORT`, `[IPV6]:PORT`, `:PORT`, `PORT` or `HOST`;
 * what it leaves out keeps its default.
 */
export function parseTarget(text: string, portSpec: OptionSpec): Target {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  let host: string | undefined;
  let port: string | undefined;
  if (bracketed) [, host, port] = bracketed;
  else if (/^\d+$/.test(text)) port = text;
  else if ((text.match(/:/g) ?? []).length === 1) [host, port] = text.split(':') as [string, string];
  else host = text; // a name, an IPv4 address, or an IPv6 address without a port
  const target: Target = {};
  if (host !== undefined && host !== '') target.host = host;
  if (port !== undefined) target.port = convertText(portSpec, port, `the port of ${JSON.stringify(text)}`) as number;
  if (target.host === undefined && target.port === undefined)
    throw new OptionError(`empty target ${JSON.stringify(text)}`);
  return target;
}
