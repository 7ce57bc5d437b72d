import type { WorkerFault } from '@fib/core/testing';

/**
 * What `pool.run()` carries to a pool process. Tinypool frames and tags its
 * own traffic (its `__tinypool_worker_message__` marker); the payload is the
 * bare `n`, the cheapest thing to serialize, or, only when the test-only
 * fault injection of `@fib/core` is armed, an object asking the worker to die.
 */
export type PoolTask = number | FaultTask;

export interface FaultTask {
  readonly n: number;
  readonly fault: WorkerFault;
}
