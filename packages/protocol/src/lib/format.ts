import type { ErrorCode } from './errors.js';
import { FibError, isErrorCode } from './errors.js';

/** The answer line for a computed value. */
export function formatAnswer(value: number): string {
  return `${value}\n`;
}

/** An `ERR <code> <message>` line; the message is kept to one line. */
export function formatError(code: ErrorCode, message: string): string {
  return `ERR ${code} ${message.replace(/[\r\n]+/g, ' ')}\n`;
}

/** The standard messages, so that every strategy says the same thing. */
export const ERROR_LINES = {
  badRequest: formatError('bad_request', 'expected a non-negative decimal integer'),
  outOfRange: (maxN: number) => formatError('out_of_range', `n must be at most ${maxN}`),
  lineTooLong: (maxLine: number) => formatError('line_too_long', `request longer than ${maxLine} bytes; closing`),
  busy: formatError('busy', 'server is at capacity, try again later'),
  tooManyConnections: formatError('busy', 'too many connections; closing'),
  internal: formatError('internal', 'the worker computing this request died'),
  shuttingDown: formatError('shutting_down', 'server is shutting down'),
} as const;

/**
 * Reads one answer line (without its `\n`): the value, or a FibError for an
 * `ERR` line. Anything else is a protocol violation and throws a plain Error.
 */
export function parseAnswer(line: string): number {
  if (line.startsWith('ERR ')) {
    const space = line.indexOf(' ', 4);
    const code = space === -1 ? line.slice(4) : line.slice(4, space);
    const message = space === -1 ? '' : line.slice(space + 1);
    if (isErrorCode(code)) throw new FibError(code, message);
    throw new Error(`unknown error code in answer: ${JSON.stringify(line)}`);
  }
  const value = Number(line);
  if (line.length === 0 || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`malformed answer: ${JSON.stringify(line)}`);
  }
  return value;
}
