import { FibError } from '@fib/protocol';

/** A worker (thread or process) died while it held a job. */
export class WorkerDiedError extends Error {
  constructor(message = 'the worker holding this job died', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkerDiedError';
  }
}

/**
 * SPEC section 4: the request a dead worker held is retried once (on whatever
 * worker the strategy gives it next), then answered `ERR internal`. Errors
 * other than WorkerDiedError pass through untouched.
 *
 * Plain promise chaining rather than an async function: on the path every
 * request takes (the first attempt succeeds) it adds one promise, not three.
 */
export function retryOnce(run: () => Promise<number>): Promise<number> {
  return attempt(run).then(undefined, (error: unknown) => {
    if (!(error instanceof WorkerDiedError)) throw error;
    return attempt(run).then(undefined, (again: unknown) => {
      if (!(again instanceof WorkerDiedError)) throw again;
      throw new FibError('internal', 'the worker computing this request died, twice', { cause: again });
    });
  });
}

/** `run()`, with a synchronous throw turned into a rejection, as an async function would. */
function attempt(run: () => Promise<number>): Promise<number> {
  try {
    return run();
  } catch (error) {
    return Promise.reject(error);
  }
}
