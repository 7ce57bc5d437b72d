import type { Envelope } from '@fib/core';
import type { WorkerFault } from '@fib/core/testing';

/** Main thread to worker: compute fib(n), or (tests only) die as `fault` says. */
export type JobMessage = Envelope<'job', { n: number; fault?: WorkerFault }>;

/** Worker to main thread: the answer to the oldest job it was sent. */
export type AnswerMessage = Envelope<'answer', { value: number }>;
