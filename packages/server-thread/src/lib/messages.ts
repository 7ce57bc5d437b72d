import type { WorkerFault } from '@fib/core/testing';

/**
 * The only traffic between a connection's thread and the main thread. The
 * marker field keeps it apart from anything else that might ever share the
 * channel (STYLE: a tagged union defined once).
 */
export const MARK = 'fib-server-thread';

/** Main thread to worker: compute fib(n), or (tests only) die as `fault` says. */
export interface JobMessage {
  readonly mark: typeof MARK;
  readonly n: number;
  readonly fault?: WorkerFault;
}

/** Worker to main thread: the answer to the oldest job it was sent. */
export interface AnswerMessage {
  readonly mark: typeof MARK;
  readonly value: number;
}

export function isJob(message: unknown): message is JobMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as JobMessage).mark === MARK &&
    typeof (message as JobMessage).n === 'number'
  );
}

export function isAnswer(message: unknown): message is AnswerMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as AnswerMessage).mark === MARK &&
    typeof (message as AnswerMessage).value === 'number'
  );
}
