/** The codes of `ERR <code> <message>` lines (docs/errors.md). */
export const ERROR_CODES = [
  'bad_request',
  'out_of_range',
  'line_too_long',
  'busy',
  'internal',
  'shutting_down',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const CODES: ReadonlySet<string> = new Set(ERROR_CODES);

export function isErrorCode(value: string): value is ErrorCode {
  return CODES.has(value);
}

/** An `ERR` answer, on either side of the wire. */
export class FibError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FibError';
    this.code = code;
  }
}
