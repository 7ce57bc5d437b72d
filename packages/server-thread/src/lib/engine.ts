import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { WorkerDiedError, retryOnce, type Engine, type Session } from '@fib/core';
import { workerFaultPlan, type WorkerFaultPlan } from '@fib/core/testing';
import { MARK, isAnswer, type JobMessage } from './messages.js';

/** Built by esbuild beside this module's bundle (see scripts/build.mjs). */
const WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * Limits of each connection's thread. fib does not allocate: a thread that
 * grows past the heap limit is broken and is ended (then replaced, its job
 * retried) before it can take the process down.
 */
const WORKER_RESOURCE_LIMITS = { maxOldGenerationSizeMb: 64 } as const;

/** Every thread the engine started and that has not exited yet. */
type Threads = Set<Worker>;

/**
 * The thread-per-connection strategy: each connection gets its own
 * worker_threads Worker when it opens, terminated when it closes. The main
 * thread keeps all the socket I/O; threads only compute, in parallel.
 */
export function createThreadEngine(): Engine {
  const faults = workerFaultPlan();
  const threads: Threads = new Set();
  return {
    open: () => new ThreadSession(threads, faults),
    async close() {
      const exits = [...threads].map((worker) => once(worker, 'exit'));
      for (const worker of threads) void worker.terminate();
      await Promise.all(exits);
    },
  };
}

interface Job {
  readonly n: number;
  readonly fault: JobMessage['fault'];
  readonly resolve: (value: number) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * One connection's thread. Jobs are posted as they arrive and the thread
 * answers them in order, so pipelined requests queue in the thread's port.
 */
class ThreadSession implements Session {
  readonly #threads: Threads;
  readonly #faults: WorkerFaultPlan | null;
  #worker: Worker | null = null;
  /** Jobs posted to the current thread and not answered yet, oldest first. */
  #jobs: Job[] = [];
  #closed = false;

  constructor(threads: Threads, faults: WorkerFaultPlan | null) {
    this.#threads = threads;
    this.#faults = faults;
    this.#spawn();
  }

  compute(n: number): Promise<number> {
    return retryOnce(() => this.#submit(n));
  }

  close(): void {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = null;
    // Nobody is left to read these answers, but each promise must settle:
    // @fib/core counts unsettled jobs against --max-queue.
    const jobs = this.#jobs;
    this.#jobs = [];
    for (const job of jobs) job.reject(new Error('the connection closed before this request was answered'));
    if (worker !== null) void worker.terminate();
  }

  #submit(n: number): Promise<number> {
    if (this.#closed) return Promise.reject(new Error('the connection is closed'));
    return new Promise<number>((resolve, reject) => {
      const job: Job = { n, fault: this.#faults?.take(n), resolve, reject };
      this.#jobs.push(job);
      this.#post(this.#worker ?? this.#spawn(), job);
    });
  }

  #post(worker: Worker, job: Job): void {
    const message: JobMessage =
      job.fault === undefined ? { mark: MARK, n: job.n } : { mark: MARK, n: job.n, fault: job.fault };
    worker.postMessage(message);
  }

  #spawn(): Worker {
    const worker = new Worker(WORKER_URL, { resourceLimits: WORKER_RESOURCE_LIMITS });
    this.#worker = worker;
    this.#threads.add(worker);
    let failure: unknown;
    worker.on('message', (message: unknown) => {
      if (worker !== this.#worker || !isAnswer(message)) return;
      this.#jobs.shift()?.resolve(message.value);
    });
    // Without this listener an uncaught error in the thread would be rethrown
    // here and crash the server. It is followed by 'exit', handled below.
    worker.on('error', (error) => {
      failure = error;
    });
    worker.on('exit', (code) => {
      this.#threads.delete(worker);
      if (worker === this.#worker) this.#died(code, failure);
    });
    return worker;
  }

  /**
   * The thread ended on its own. The oldest job is the one it was computing:
   * it fails with WorkerDiedError, which `retryOnce` turns into one retry. The
   * jobs behind it never started; they go to a new thread as they are.
   */
  #died(code: number, failure: unknown): void {
    this.#worker = null;
    const reason = failure instanceof Error ? failure.message : `exit code ${code}`;
    console.error(
      `fib-server-thread: a connection's thread died (${reason}); it is replaced and its request retried once`,
    );
    const [held, ...waiting] = this.#jobs;
    this.#jobs = waiting;
    if (waiting.length > 0) {
      const worker = this.#spawn();
      for (const job of waiting) this.#post(worker, job);
    }
    held?.reject(new WorkerDiedError(`the thread computing this request died (exit code ${code})`, { cause: failure }));
  }
}
