import type { Envelope } from '@fib/core';
import type { WorkerFault } from '@fib/core/testing';

/**
 * Everything the server and its queue workers say to each other besides
 * core's READY, in core's one envelope. JSON serialization: for messages
 * this small it measured faster here than `serialization: 'advanced'`.
 */

/** Server to worker: one job, sent only to a worker that is idle. */
export type JobMessage = Envelope<
  'job',
  {
    id: number;
    n: number;
    /** Only when the test-only fault injection is armed: die instead of computing. */
    fault?: WorkerFault;
  }
>;

/** Worker to server: the job's answer; it also says the worker is idle again (the next job may come). */
export type ResultMessage = Envelope<'result', { id: number; value: number }>;
