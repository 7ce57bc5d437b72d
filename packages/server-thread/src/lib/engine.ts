import { Worker } from 'node:worker_threads';
import {
  ConnectionClosedError,
  Dispatcher,
  envelope,
  isEnvelope,
  Supervisor,
  taskOf,
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
    held: (worker) => (sessions.get(worker)?.busy === true ? '; it is replaced and its requests retried once' : ''),
  });
  supervisor.on('fatal', (error) => context.fail(error));
  return {
    open: () => new ThreadSession(supervisor, sessions, faults),
    close: () => supervisor.stop(),
  };
}

/**
 * One connection's thread, fed by its own core Dispatcher: the thread holds
 * one task at a time (a job, or a batch of the jobs that came in together)
 * and the next waits in the dispatcher, so pipelined requests travel in few
 * messages. A thread that dies is replaced; the jobs it held are retried once.
 */
class ThreadSession implements Session {
  readonly #supervisor: Supervisor;
  readonly #sessions: Map<WorkerHandle, ThreadSession>;
  readonly #faults: WorkerFaultPlan | null;
  readonly #dispatcher: Dispatcher<WorkerHandle>;
  readonly #session: Session;
  #worker: WorkerHandle | null = null;
  #closed = false;

  constructor(supervisor: Supervisor, sessions: Map<WorkerHandle, ThreadSession>, faults: WorkerFaultPlan | null) {
    this.#supervisor = supervisor;
    this.#sessions = sessions;
    this.#faults = faults;
    this.#dispatcher = new Dispatcher<WorkerHandle>({
      // This connection's own: nothing is gained by waiting for other reads.
      sendAfterRead: true,
      send: (worker, jobs) => {
        const message: JobMessage = envelope('job', { task: taskOf(jobs, this.#faults) });
        worker.send(message);
      },
    });
    this.#session = this.#dispatcher.open();
    this.#spawn();
  }

  get busy(): boolean {
    return this.#worker !== null && this.#dispatcher.holds(this.#worker) !== undefined;
  }

  compute(n: number): Promise<number> | number {
    return this.#session.compute(n);
  }

  flush(): void {
    this.#session.flush?.();
  }

  close(): void {
    this.#closed = true;
    // Nobody is left to read these answers, but each promise must settle:
    // @fib/core counts unsettled jobs against --max-queue. The dispatcher is
    // this connection's alone: closing it rejects its waiting jobs.
    this.#dispatcher.close(new ConnectionClosedError());
    const worker = this.#worker;
    this.#worker = null;
    if (worker !== null) {
      this.#dispatcher.lost(worker, new ConnectionClosedError());
      this.#supervisor.retire(worker);
    }
  }

  #spawn(): void {
    // Tasks sent before the thread is up wait in its port.
    const { worker } = this.#supervisor.add();
    this.#worker = worker;
    this.#sessions.set(worker, this);
    worker.onMessage((message) => {
      if (!isEnvelope<AnswerMessage>(message) || message['@fib'] !== 'answer') return;
      this.#dispatcher.answer(worker, message.value);
    });
    void worker.exited.then((exit) => {
      this.#sessions.delete(worker);
      if (worker === this.#worker) this.#died(exit);
    });
    this.#dispatcher.ready(worker);
  }

  /**
   * The thread ended on its own: the jobs it held fail with WorkerDiedError,
   * which the dispatcher retries once each, on a new thread. The jobs
   * waiting in the dispatcher never left it.
   */
  #died(exit: WorkerExit): void {
    const worker = this.#worker!;
    this.#worker = null;
    this.#dispatcher.lost(
      worker,
      new WorkerDiedError(`the thread computing this request died (${describeExit(exit)})`, { cause: exit.error }),
    );
    if (!this.#closed) this.#spawn();
  }
}
