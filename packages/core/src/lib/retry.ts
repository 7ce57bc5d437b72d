import { FibError } from '@fib/protocol';
import { WorkerDiedError } from './errors.js';

/**
 * The request a dead worker held is retried once (on whatever worker the
 * strategy gives it next), then answered `ERR internal` (docs/workers.md).
 * Errors other than WorkerDiedError pass through untouched. `run` learns
 * which attempt it is (1 or 2): a strategy may put a retry ahead of the queue.
 *
 * Plain promise chaining rather than an async function: on the path every
 * request takes (the first attempt succeeds) it adds one promise, not three.
 */
export function retryOnce(run: (attempt: 1 | 2) => Promise<number>): Promise<number> {
  return attempt(run, 1).then(undefined, (error: unknown) => {
    if (!(error instanceof WorkerDiedError)) throw error;
    return attempt(run, 2).then(undefined, (again: unknown) => {
      if (!(again instanceof WorkerDiedError)) throw again;
      throw diedTwice(again);
    });
  });
}

/** `run()`, with a synchronous throw turned into a rejection, as an async function would. */
function attempt(run: (attempt: 1 | 2) => Promise<number>, n: 1 | 2): Promise<number> {
  try {
    return run(n);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** What a request whose worker died on its retry too is answered with: `ERR internal`, the second death its cause. */
export function diedTwice(cause: WorkerDiedError): FibError {
  return new FibError('internal', 'the worker computing this request died, twice', { cause });
}
