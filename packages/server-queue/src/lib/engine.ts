import { fork } from 'node:child_process';
import { FibError } from '@fib/protocol';
import {
  ConnectionClosedError,
  EngineClosedError,
  envelope,
  isEnvelope,
  processHandle,
  retryOnce,
  Supervisor,
  trackSupervisor,
  WorkerDiedError,
  type ComputeEngine,
  type HistogramData,
  type Reporter,
  type ServerContext,
  type ServerOptions,
  type Session,
  type WorkerHandle,
} from '@fib/core';
import { workerFaultPlan, type WorkerFaultPlan } from '@fib/core/testing';
import { Job, JobQueue, Owner } from './jobs.js';
import type { JobMessage, ResultMessage } from './messages.js';

/** esbuild bundles this module into dist/, beside the worker entry. */
const WORKER_ENTRY = new URL('./worker.js', import.meta.url);

export async function createQueueEngine(options: ServerOptions, context: ServerContext): Promise<ComputeEngine> {
  const engine = new QueueEngine(options.workers, context);
  await engine.start();
  return engine;
}

/**
 * The parent side: the queue, and workers kept by core's Supervisor. A
 * worker is sent a job only when it is idle; its answer is its request for
 * the next one, so a request costs one IPC round trip. A job whose worker
 * died is retried once, ahead of the queue, then answered `ERR internal`.
 */
class QueueEngine implements ComputeEngine {
  readonly #queue = new JobQueue();
  /** What each busy worker holds. */
  readonly #held = new Map<WorkerHandle, { readonly job: Job; readonly id: number }>();
  /** Idle workers, most recently idle last (its caches are warm). */
  readonly #idle: WorkerHandle[] = [];
  /** Being replaced (a reload): they finish the job they hold and get no other. */
  readonly #retiring = new WeakSet<WorkerHandle>();
  readonly #metrics: ServerContext['metrics'];
  readonly #supervisor: Supervisor;
  readonly #report: Reporter;
  readonly #faults: WorkerFaultPlan | null = workerFaultPlan();
  /** fib_queue_wait_seconds, when metrics are on. */
  readonly #queueWait: HistogramData | null = null;
  #nextId = 0;
  #closing: Promise<void> | null = null;

  constructor(size: number, context: ServerContext) {
    this.#report = context.report;
    this.#metrics = context.metrics;
    this.#supervisor = new Supervisor({
      name: 'queue worker',
      size,
      report: context.report,
      spawn: () => processHandle(fork(WORKER_ENTRY, [], { serialization: 'json' })),
      held: (worker) => {
        const held = this.#held.get(worker);
        return held === undefined ? '' : ` while computing fib(${held.job.n})`;
      },
    });
    if (context.metrics !== null) {
      trackSupervisor(context.metrics, this.#supervisor, true);
      this.#queueWait = context.metrics.trackQueue();
    }
    this.#supervisor.on('ready', (worker) => {
      worker.onMessage((message) => this.#onMessage(worker, message));
      this.#next(worker);
    });
    this.#supervisor.on('retiring', (worker) => {
      this.#retiring.add(worker);
      const idle = this.#idle.indexOf(worker);
      if (idle !== -1) this.#idle.splice(idle, 1);
    });
    this.#supervisor.on('exit', ({ worker, exit }) => {
      const idle = this.#idle.indexOf(worker);
      if (idle !== -1) this.#idle.splice(idle, 1);
      const held = this.#held.get(worker);
      this.#held.delete(worker);
      held?.job.reject(
        new WorkerDiedError(`queue worker ${worker.id} died while computing fib(${held.job.n})`, { cause: exit.error }),
      );
    });
    this.#supervisor.on('fatal', (error) => {
      // No worker can start: no request may wait for one forever.
      for (const job of this.#queue.removeAll()) job.reject(new FibError('internal', 'no worker process could start'));
      context.fail(error);
    });
  }

  start(): Promise<void> {
    return this.#supervisor.start();
  }

  open(): Session {
    const owner = new Owner();
    return {
      compute: (n) => retryOnce((attempt) => this.#submit(n, owner, attempt)),
      close: () => {
        owner.closed = true;
        for (const job of this.#queue.removeOwnedBy(owner)) job.reject(new ConnectionClosedError());
      },
    };
  }

  /** A worker that ends cleanly with the server (a SIGTERM to the process group) is replaced only if work is left. */
  drain(): void {
    this.#supervisor.drain(() => this.#queue.size > 0);
  }

  close(): Promise<void> {
    this.#closing ??= this.#terminate();
    return this.#closing;
  }

  /**
   * SIGHUP: each worker in turn is replaced by a new one, ready before the
   * old one takes no more jobs; the old one answers the job it holds, then exits.
   */
  async reload(): Promise<{ replaced: number }> {
    const old = this.#supervisor.ready;
    for (const worker of old) {
      await this.#supervisor.rotate(worker);
      this.#metrics?.workerRestarted();
    }
    return { replaced: old.length };
  }

  #submit(n: number, owner: Owner, attempt: 1 | 2): Promise<number> {
    if (this.#closing !== null) return Promise.reject(new EngineClosedError());
    // A retry for a connection that is gone is not worth a worker's time.
    if (owner.closed) return Promise.reject(new ConnectionClosedError());
    const job = new Job(n, owner);
    if (this.#queueWait !== null) job.queuedAt = performance.now();
    const worker = this.#idle.pop();
    if (worker !== undefined) this.#dispatch(worker, job);
    else if (attempt === 1) this.#queue.push(job);
    // It has waited once already: ahead of every other.
    else this.#queue.pushRetry(job);
    return job.promise;
  }

  #dispatch(worker: WorkerHandle, job: Job): void {
    // A job that found an idle worker waited 0 s: it counts, so that the share of jobs that waited shows.
    this.#queueWait?.observe((performance.now() - job.queuedAt) / 1000);
    const id = ++this.#nextId;
    this.#held.set(worker, { job, id });
    const fault = this.#faults?.take(job.n);
    const message: JobMessage = envelope('job', fault === undefined ? { id, n: job.n } : { id, n: job.n, fault });
    // A worker that cannot take it is dying: its exit rejects the job, which is then retried.
    if (!worker.send(message)) this.#supervisor.retire(worker);
  }

  /** `worker` is idle: the next job, or the idle list. */
  #next(worker: WorkerHandle): void {
    if (this.#closing !== null || this.#retiring.has(worker)) return;
    const job = this.#queue.shift();
    if (job === undefined) this.#idle.push(worker);
    else this.#dispatch(worker, job);
  }

  #onMessage(worker: WorkerHandle, message: unknown): void {
    if (!isEnvelope<ResultMessage>(message) || message['@fib'] !== 'result') return;
    const held = this.#held.get(worker);
    if (held === undefined || held.id !== message.id) {
      this.#report({
        level: 'error',
        event: 'worker-misbehaved',
        msg: `queue worker ${worker.id} answered job ${message.id}, which it does not hold; killing it`,
        worker: worker.id,
      });
      this.#supervisor.retire(worker);
      return;
    }
    this.#held.delete(worker);
    held.job.resolve(message.value);
    this.#next(worker);
  }

  async #terminate(): Promise<void> {
    for (const job of this.#queue.removeAll()) job.reject(new EngineClosedError());
    await this.#supervisor.stop();
  }
}
