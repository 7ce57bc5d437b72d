import { createRequire } from 'node:module';
import type * as Pino from 'pino';

// pino is loaded only when a JSON logger is made: worker threads and
// processes import this module too, and must start without it.
const require = createRequire(import.meta.url);

/** The levels the servers log at, most verbose first; `silent` logs nothing. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Structured fields of a record: strategy, pid, worker, code, err, ... */
export type LogFields = Record<string, unknown>;

/**
 * What library code logs through. A pino logger fits it as it is, so a user
 * can pass their own; `NO_LOG` (the default of the library API) drops
 * everything. Messages are whole sentences for people; fields carry the
 * numbers for machines.
 */
export interface Logger {
  debug(fields: LogFields, msg: string): void;
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
  /** Lets a caller skip building the fields of a record nobody will see. */
  isLevelEnabled(level: LogLevel): boolean;
  /** A logger that adds `bindings` to every record (in text, they are not shown). */
  child(bindings: LogFields): Logger;
}

const ignore = () => {};

/** Logs nothing: the library's default when its user passes no logger. */
export const NO_LOG: Logger = {
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  isLevelEnabled: () => false,
  child: () => NO_LOG,
};

const RANK: Readonly<Record<LogLevel, number>> = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };

/** Where a logger writes: stderr by default, something else in tests. */
export interface LogSink {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** The prefix of text lines (`fib-server-pool`) and the `name` of JSON records. */
  readonly name: string;
  readonly level?: LogLevel;
  /** Fields every JSON record carries, such as `strategy`. */
  readonly base?: LogFields;
  readonly sink?: LogSink;
}

/**
 * The human lines the servers have always printed on stderr:
 * `fib-server-pool: a pool thread died; it is replaced`. The message says
 * everything; fields are for machines. At level error an `err` field's stack
 * follows on the next lines: there it is a bug to look into.
 */
export function textLogger(options: LoggerOptions): Logger {
  const sink = options.sink ?? process.stderr;
  const threshold = RANK[options.level ?? 'info'];
  const line = (level: LogLevel) => (fields: LogFields, msg: string) => {
    if (RANK[level] < threshold) return;
    const { err } = fields;
    const stack = level === 'error' && err instanceof Error && err.stack !== undefined ? `\n${err.stack}` : '';
    sink.write(`${options.name}: ${msg}${stack}\n`);
  };
  const logger: Logger = {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    isLevelEnabled: (level) => RANK[level] >= threshold,
    child: () => logger,
  };
  return logger;
}

/**
 * pino records on stderr, one JSON object a line: `level` (pino's numbers),
 * `time` (epoch ms), `pid`, `name`, `msg`, and the record's fields. Written
 * synchronously, so that the last records before an exit are not lost.
 */
export function jsonLogger(options: LoggerOptions): Logger {
  const { pino } = require('pino') as typeof Pino;
  const destination = options.sink ?? pino.destination({ dest: 2, sync: true });
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      base: { pid: process.pid, ...options.base },
    },
    destination as Pino.DestinationStream,
  );
}

/** The logger a bin uses, from --log-format and --log-level. */
export function createLogger(format: LogFormat, options: LoggerOptions): Logger {
  return format === 'json' ? jsonLogger(options) : textLogger(options);
}

/** A record as the library reports it (a server event): a level, a kind, a line for people, fields. */
export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  /** A stable name for the kind of record, e.g. `worker-died`. */
  readonly event: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** Passes the library's reports to `logger`: the message as the line, every other field as a field. */
export function logReporter(logger: Logger): (record: LogRecord) => void {
  return (record) => {
    const { level, msg, ...fields } = record;
    if (logger.isLevelEnabled(level)) logger[level](fields, msg);
  };
}

/**
 * A Logger that passes every record at or above `level` to a reporter (the
 * server's Reporter): what library code logs reaches whatever the
 * application chose to print, as events do.
 */
export function reportingLogger(report: (record: LogRecord) => void, level: LogLevel): Logger {
  const threshold = RANK[level];
  const at =
    (recordLevel: LogRecord['level']) =>
    (fields: LogFields, msg: string): void => {
      if (RANK[recordLevel] >= threshold) report({ event: 'log', ...fields, level: recordLevel, msg });
    };
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    isLevelEnabled: (wanted) => RANK[wanted] >= threshold,
    child: () => logger,
  };
  return logger;
}
