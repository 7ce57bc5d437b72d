import { Worker } from 'node:worker_threads';
import {
  ConnectionClosedError,
  envelope,
  isEnvelope,
  retryOnce,
  Supervisor,
  threadHandle,
  WorkerDiedError,
  describeExit,
  type ComputeEngine,
  type ServerContext,
  type ServerOptions,
  type Session,
  type WorkerExit,
  type WorkerHandle,
} from '@fib/core';
import { workerFaultPlan, type WorkerFaultPlan } from '@fib/core/testing';
import type { AnswerMessage, JobMessage } from './messages.js';

/** Built by esbuild beside this module's bundle (see scripts/build.mjs). */
const WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * Limits of each connection's thread. fib does not allocate: a thread that
 * grows past the heap limit is broken and is ended (then replaced, its job
 * retried) before it can take the process down.
 */
const WORKER_RESOURCE_LIMITS = { maxOldGenerationSizeMb: 64 } as const;

/**
 * The thread-per-connection strategy: each connection gets its own
 * worker_threads Worker when it opens, ended when it closes; core's
 * Supervisor starts them and ends those left at shutdown. The main thread
 * keeps all the socket I/O; threads only compute, in parallel.
 */
export function createThreadEngine(_options: ServerOptions, context: ServerContext): ComputeEngine {
  const faults = workerFaultPlan();
  const sessions = new Map<WorkerHandle, ThreadSession>();
  const supervisor = new Supervisor({
    name: 'connection thread',
    report: context.report,
    spawn: () => threadHandle(new Worker(WORKER_URL, { resourceLimits: WORKER_RESOURCE_LIMITS })),
    held: (worker) => (sessions.get(worker)?.busy === true ? '; it is replaced and its request retried once' : ''),
  });
  supervisor.on('fatal', (error) => context.fail(error));
  return {
    open: () => new ThreadSession(supervisor, sessions, faults),
    close: () => supervisor.stop(),
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
  readonly #supervisor: Supervisor;
  readonly #sessions: Map<WorkerHandle, ThreadSession>;
  readonly #faults: WorkerFaultPlan | null;
  #worker: WorkerHandle | null = null;
  /** Jobs posted to the current thread and not answered yet, oldest first. */
  #jobs: Job[] = [];
  #closed = false;

  constructor(supervisor: Supervisor, sessions: Map<WorkerHandle, ThreadSession>, faults: WorkerFaultPlan | null) {
    this.#supervisor = supervisor;
    this.#sessions = sessions;
    this.#faults = faults;
    this.#spawn();
  }

  get busy(): boolean {
    return this.#jobs.length > 0;
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
    for (const job of jobs) job.reject(new ConnectionClosedError());
    if (worker !== null) this.#supervisor.retire(worker);
  }

  #submit(n: number): Promise<number> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError());
    return new Promise<number>((resolve, reject) => {
      const job: Job = { n, fault: this.#faults?.take(n), resolve, reject };
      this.#jobs.push(job);
      this.#post(this.#worker ?? this.#spawn(), job);
    });
  }

  #post(worker: WorkerHandle, job: Job): void {
    worker.send(envelope('job', job.fault === undefined ? { n: job.n } : { n: job.n, fault: job.fault }));
  }

  #spawn(): WorkerHandle {
    // Messages posted before the thread is up wait in its port.
    const { worker } = this.#supervisor.add();
    this.#worker = worker;
    this.#sessions.set(worker, this);
    worker.onMessage((message) => {
      if (worker !== this.#worker || !isEnvelope<AnswerMessage>(message) || message['@fib'] !== 'answer') return;
      this.#jobs.shift()?.resolve(message.value);
    });
    void worker.exited.then((exit) => {
      this.#sessions.delete(worker);
      if (worker === this.#worker) this.#died(exit);
    });
    return worker;
  }

  /**
   * The thread ended on its own. The oldest job is the one it was computing:
   * it fails with WorkerDiedError, which `retryOnce` turns into one retry. The
   * jobs behind it never started; they go to a new thread as they are.
   */
  #died(exit: WorkerExit): void {
    this.#worker = null;
    const [held, ...waiting] = this.#jobs;
    this.#jobs = waiting;
    if (waiting.length > 0) {
      const worker = this.#spawn();
      for (const job of waiting) this.#post(worker, job);
    }
    held?.reject(
      new WorkerDiedError(`the thread computing this request died (${describeExit(exit)})`, { cause: exit.error }),
    );
  }
}
