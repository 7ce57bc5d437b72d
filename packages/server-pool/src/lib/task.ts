import type { WorkerFault } from '@fib/core/testing';

/**
 * What the pool's threads are given: `n` itself on the hot path (the cheapest
 * thing to clone), or a test-only fault marker (see `workerFaultPlan`).
 */
export type PoolTask = number | { readonly fault: WorkerFault };
