import { isMainThread } from 'node:worker_threads';
import { fib } from '@fib/core/worker';
import { enactWorkerFault } from '@fib/core/testing';
import type { PoolTask } from './lib/task.js';

if (isMainThread) {
  throw new Error("@fib/server-pool: dist/worker.js is the entry of the pool's threads; it runs only inside one");
}

/** Piscina calls the default export for each task. */
export default function run(task: PoolTask): number | Promise<never> {
  return typeof task === 'number' ? fib(task) : enactWorkerFault(task.fault);
}
