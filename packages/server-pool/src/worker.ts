import { isMainThread } from 'node:worker_threads';
import { runTask } from '@fib/core/worker';

if (isMainThread) {
  throw new Error("@fib/server-pool: dist/worker.js is the entry of the pool's threads; it runs only inside one");
}

/** Piscina calls the default export for each task: one job's n, or a batch (see `taskOf` in @fib/core). */
export default runTask;
