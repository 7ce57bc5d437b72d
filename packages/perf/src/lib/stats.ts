import { ERROR_CODES, type ErrorCode } from '@fib/protocol';

/** Outcome counters of one phase (warmup or measurement) of a run. */
export class Counters {
  /** Correct answers. */
  ok = 0;
  /** `ERR <code>` answers by code. */
  readonly err: Record<ErrorCode, number> = Object.fromEntries(ERROR_CODES.map((code) => [code, 0])) as Record<
    ErrorCode,
    number
  >;
  /** Numbers that are not fib(n). */
  wrong = 0;
  /** Lines that are neither a number nor a known `ERR` line, and answers nobody asked for. */
  malformed = 0;
  /** Requests in flight on a connection the server closed or reset. */
  lost = 0;

  get errTotal(): number {
    let total = 0;
    for (const code of ERROR_CODES) total += this.err[code];
    return total;
  }

  /** Requests that did not get a correct answer. */
  get failed(): number {
    return this.errTotal + this.wrong + this.malformed + this.lost;
  }
}
