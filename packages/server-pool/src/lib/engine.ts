import { Piscina } from 'piscina';
import {
  WorkerDiedError,
  reason,
  retryOnce,
  warmUp,
  type ComputeEngine,
  type Reporter,
  type ServerContext,
  type ServerOptions,
  type Session,
} from '@fib/core';
import { workerFaultPlan, type WorkerFaultPlan } from '@fib/core/testing';
import type { PoolTask } from './task.js';

/** Built by esbuild beside this module's bundle (see scripts/build.mjs). */
const WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * fib does not allocate; a thread that grows past this is broken, and
 * ending it (it is replaced, its job retried) beats letting it take the
 * process down.
 */
const WORKER_HEAP_LIMIT_MB = 64;

type Pool = Piscina<PoolTask, number>;

/**
 * The futures-style strategy: every request is `await pool.run(n)` on a
 * piscina pool of exactly `--workers` threads that never idle out, so a
 * request costs one message round trip and no thread start.
 */
export async function createPoolEngine(options: ServerOptions, context: ServerContext): Promise<ComputeEngine> {
  const { report } = context;
  const faults = workerFaultPlan();
  const pool: Pool = new Piscina<PoolTask, number>({
    filename: WORKER_URL.href,
    // A fixed size: piscina's defaults start threads on demand and end them
    // when idle (idleTimeout 0), which puts thread starts on the hot path.
    minThreads: options.workers,
    maxThreads: options.workers,
    idleTimeout: Infinity,
    // Admission is --max-queue's job, in @fib/core; piscina's queue only orders.
    maxQueue: Infinity,
    // Per-task timing histograms are not read by anyone.
    recordTiming: false,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_LIMIT_MB },
  });
  // Piscina emits 'error' for a thread that fails while it holds no task;
  // without a listener that would crash the server. The thread is replaced.
  pool.on('error', (error: unknown) => {
    report({
      level: 'error',
      event: 'worker-died',
      msg: `a pool thread failed while idle (it is replaced): ${reason(error)}`,
      err: error,
    });
  });
  try {
    await warmUp('pool thread', options.workers, () => pool.run(0));
  } catch (error) {
    await pool.destroy();
    throw error;
  }
  return {
    open: () => new PoolSession(pool, faults, report),
    close: () => pool.destroy(),
  };
}

/**
 * A connection's cancel switch, in the EventEmitter shape piscina accepts for
 * `run(task, { signal })` (`once` and `off`, and `removeListener`, which is
 * what piscina calls to drop its listener when a task settles). Node's
 * AbortSignal is an EventTarget: adding and removing its listener on every
 * task cost the main thread about 10 µs of CPU per request here (155 against
 * 145 µs, ten alternating rounds of perf2 at depth 1), on a path where the
 * whole hop to a thread is the price of this strategy.
 */
class Cancellation {
  aborted = false;
  readonly reason = new Error('the connection closed');
  readonly #listeners = new Set<() => void>();

  once(_event: 'abort', listener: () => void): void {
    this.#listeners.add(listener);
  }

  off(_event: 'abort', listener: () => void): void {
    this.#listeners.delete(listener);
  }

  removeListener(_event: 'abort', listener: () => void): void {
    this.#listeners.delete(listener);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) listener();
  }
}

/**
 * One connection's view of the pool. Its requests are independent tasks, so
 * a pipelining client may keep several threads busy; @fib/core writes the
 * answers back in request order.
 */
class PoolSession implements Session {
  readonly #pool: Pool;
  readonly #faults: WorkerFaultPlan | null;
  readonly #report: Reporter;
  /** Aborted when the connection is gone: its queued tasks leave the queue. */
  readonly #cancellation = new Cancellation();
  /** The options of every task of this connection: one object, not one per task. */
  readonly #runOptions = { signal: this.#cancellation };

  constructor(pool: Pool, faults: WorkerFaultPlan | null, report: Reporter) {
    this.#pool = pool;
    this.#faults = faults;
    this.#report = report;
  }

  compute(n: number): Promise<number> {
    return retryOnce(() => this.#run(n));
  }

  #run(n: number): Promise<number> {
    const fault = this.#faults?.take(n);
    return this.#pool.run(fault === undefined ? n : { fault }, this.#runOptions).catch((error: unknown) => {
      // The task itself cannot throw (n is validated, the recursion is at
      // most 78 deep), so a rejection that is not our abort means the thread
      // died: piscina has already replaced it.
      if (this.#cancellation.aborted) throw error;
      this.#report({
        level: 'warn',
        event: 'worker-died',
        msg: `a pool thread died (${reason(error)}); piscina replaces it and its request is retried once`,
        err: error,
      });
      throw new WorkerDiedError('the pool thread computing this request died', { cause: error });
    });
  }

  /**
   * Queued tasks are dropped. A task already running is ended with its
   * thread (piscina's abort semantics), which piscina replaces at once.
   */
  close(): void {
    this.#cancellation.abort();
  }
}
