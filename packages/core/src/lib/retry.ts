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
 */
export async function retryOnce(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof WorkerDiedError)) throw error;
  }
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof WorkerDiedError)) throw error;
    throw new FibError('internal', 'the worker computing this request died, twice', { cause: error });
  }
}
