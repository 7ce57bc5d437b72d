import { Piscina } from 'piscina';
import {
  WorkerDiedError,
  poolDispatcher,
  reason,
  taskOf,
  startWarm,
  type ComputeEngine,
  type ServerContext,
  type ServerOptions,
} from '@fib/core';
import { workerFaultPlan } from '@fib/core/testing';
import type { WorkerAnswer, WorkerTask } from '@fib/core/worker';

/** Built by esbuild beside this module's bundle (see scripts/build.mjs). */
const WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * fib does not allocate; a thread that grows past this is broken, and
 * ending it (it is replaced, its job retried) beats letting it take the
 * process down.
 */
const WORKER_HEAP_LIMIT_MB = 64;

type Pool = Piscina<WorkerTask, WorkerAnswer>;

/**
 * The futures-style strategy: every request is `pool.run()` on a piscina
 * pool of exactly `--workers` threads that never idle out, so a request costs
 * at most one message round trip and no thread start. Core's fair dispatcher
 * hands piscina one task (a job, or a batch of cheap ones) per free thread:
 * connections take turns, and a closed connection's waiting requests are
 * dropped (the task a thread holds finishes).
 */
export async function createPoolEngine(options: ServerOptions, context: ServerContext): Promise<ComputeEngine> {
  const { report } = context;
  const faults = workerFaultPlan();
  const makePool = (): Pool => {
    const made = new Piscina<WorkerTask, WorkerAnswer>({
      filename: WORKER_URL.href,
      // A fixed size: piscina's defaults start threads on demand and end them
      // when idle (idleTimeout 0), which puts thread starts on the hot path.
      minThreads: options.workers,
      maxThreads: options.workers,
      idleTimeout: Infinity,
      // Admission is --max-queue's job and order the dispatcher's, in @fib/core: piscina gets a job per free thread.
      maxQueue: Infinity,
      // Per-task timing histograms are not read by anyone.
      recordTiming: false,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_LIMIT_MB },
    });
    // Piscina emits 'error' for a thread that fails while it holds no task;
    // without a listener that would crash the server. The thread is replaced.
    made.on('error', (error: unknown) => {
      report({
        level: 'error',
        event: 'worker-died',
        msg: `a pool thread failed while idle (it is replaced): ${reason(error)}`,
        err: error,
      });
    });
    return made;
  };
  const startPool = (): Promise<Pool> => startWarm('pool thread', options.workers, makePool, (made) => made.destroy());
  let pool = await startPool();
  context.metrics?.trackWorkers(() => pool.threads.length);
  /** Pools being retired by a reload: closed with the server if it stops first. */
  const retiring = new Set<Pool>();
  const dispatcher = poolDispatcher(
    options.workers,
    (jobs) =>
      pool.run(taskOf(jobs, faults)).catch((error: unknown) => {
        // The task itself cannot throw (n is validated, the recursion is at
        // most 78 deep): a rejection means the thread died, and piscina has
        // already replaced it.
        report({
          level: 'warn',
          event: 'worker-died',
          msg: `a pool thread died (${reason(error)}); piscina replaces it and its requests are retried once`,
          err: error,
        });
        throw new WorkerDiedError('the pool thread computing this request died', { cause: error });
      }),
    { queueWait: context.metrics?.trackQueue() ?? null },
  );
  return {
    open: () => dispatcher.open(),
    close: async () => {
      dispatcher.close();
      await Promise.all([pool, ...retiring].map((each) => each.destroy()));
    },
    /**
     * SIGHUP: piscina replaces no thread on request, so the pool is recycled
     * whole: a new one is started and warmed up, new jobs go to it, and the
     * old one finishes the jobs it holds (at most one per thread) and closes.
     */
    async reload() {
      const next = await startPool();
      const old = pool;
      pool = next;
      retiring.add(old);
      for (let i = 0; i < options.workers; i++) context.metrics?.workerRestarted();
      try {
        await old.close();
      } finally {
        retiring.delete(old);
      }
      return { replaced: options.workers };
    },
  };
}
