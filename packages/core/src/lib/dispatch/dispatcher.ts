import { ConnectionClosedError, EngineClosedError } from '../errors.js';
import { retryOnce } from '../retry.js';
import type { HistogramData } from '../stats.js';
import type { Session } from '../strategy.js';
import { FairQueue } from './fair-queue.js';
import { Job, Lane } from './job.js';

const MS_PER_S = 1000;

/** A session whose answers always come later, from a worker. */
export interface DispatchSession extends Session {
  compute(n: number): Promise<number>;
}

export interface DispatcherOptions<W> {
  /**
   * Hands `job` to `worker`, which holds nothing. The strategy reports the
   * outcome with `answer`, `failed` or `lost`.
   */
  readonly send: (worker: W, job: Job) => void;
  /** fib_queue_wait_seconds, when metrics are on. */
  readonly queueWait?: HistogramData | null;
}

/**
 * The one way requests reach workers in the strategies that have them: each
 * connection's jobs wait in a lane of a FairQueue, and a worker that is free
 * takes the next job across lanes in turn. A worker holds one job at a time,
 * so nothing waits in a worker behind another connection's backlog. A job
 * whose worker died is retried once, ahead of the queue, then answered
 * `ERR internal` (retryOnce); a closed connection's waiting jobs are dropped.
 *
 * `W` is whatever the strategy calls a worker: a WorkerHandle, or a slot
 * number for a pool library that is fed one job per thread.
 */
export class Dispatcher<W> {
  readonly #queue = new FairQueue();
  /** Free workers, most recently freed last (its caches are warm). */
  readonly #idle: W[] = [];
  readonly #held = new Map<W, Job>();
  /** Workers that finish the job they hold and take no other. */
  readonly #retired = new Set<W>();
  readonly #send: (worker: W, job: Job) => void;
  readonly #queueWait: HistogramData | null;
  #nextId = 0;
  #closed: Error | null = null;

  constructor(options: DispatcherOptions<W>) {
    this.#send = options.send;
    this.#queueWait = options.queueWait ?? null;
  }

  /** Jobs waiting for a worker. */
  get waiting(): number {
    return this.#queue.size;
  }

  /** A connection's session: its requests wait in a lane of their own. */
  open(): DispatchSession {
    const lane = new Lane();
    return {
      compute: (n) => retryOnce((attempt) => this.#submit(n, lane, attempt)),
      close: () => {
        lane.closed = true;
        for (const job of this.#queue.drop(lane)) job.reject(new ConnectionClosedError());
      },
    };
  }

  /** The job `worker` holds, if any. */
  holds(worker: W): Job | undefined {
    return this.#held.get(worker);
  }

  /** `worker` is free (new, or done): it takes the next job, or waits for one. */
  ready(worker: W): void {
    if (this.#retired.has(worker) || this.#closed !== null) return;
    const job = this.#queue.shift();
    if (job === undefined) this.#idle.push(worker);
    else this.#dispatch(worker, job);
  }

  /** `worker` computed the job it holds; it is free again. */
  answer(worker: W, value: number): void {
    const job = this.#held.get(worker);
    this.#held.delete(worker);
    job?.resolve(value);
    this.ready(worker);
  }

  /** The job `worker` holds failed with `error` (a WorkerDiedError is retried once); the worker lives on. */
  failed(worker: W, error: unknown): void {
    const job = this.#held.get(worker);
    this.#held.delete(worker);
    job?.reject(error);
    this.ready(worker);
  }

  /** `worker` takes no job after the one it holds (it is being replaced). */
  retire(worker: W): void {
    this.#retired.add(worker);
    this.#unidle(worker);
  }

  /** `worker` is gone; the job it held fails with `error` (a WorkerDiedError: retried once). */
  lost(worker: W, error: unknown): void {
    this.#retired.delete(worker);
    this.#unidle(worker);
    const job = this.#held.get(worker);
    this.#held.delete(worker);
    job?.reject(error);
  }

  /** No job waits any more: those queued are rejected with `error`, and so are new ones. */
  close(error: Error = new EngineClosedError()): void {
    this.#closed ??= error;
    this.#idle.length = 0;
    for (const job of this.#queue.clear()) job.reject(error);
  }

  #submit(n: number, lane: Lane, attempt: 1 | 2): Promise<number> {
    if (this.#closed !== null) return Promise.reject(this.#closed);
    // A retry for a connection that is gone is not worth a worker's time.
    if (lane.closed) return Promise.reject(new ConnectionClosedError());
    const job = new Job(++this.#nextId, n, lane, attempt);
    if (this.#queueWait !== null) job.queuedAt = performance.now();
    // A free worker means nothing is queued: it would have taken it.
    const worker = this.#idle.pop();
    if (worker === undefined) this.#queue.push(job);
    else this.#dispatch(worker, job);
    return job.promise;
  }

  #dispatch(worker: W, job: Job): void {
    // A job that found a free worker waited 0 s: it counts, so that the share of jobs that waited shows.
    this.#queueWait?.observe((performance.now() - job.queuedAt) / MS_PER_S);
    this.#held.set(worker, job);
    this.#send(worker, job);
  }

  #unidle(worker: W): void {
    const index = this.#idle.indexOf(worker);
    if (index !== -1) this.#idle.splice(index, 1);
  }
}

/**
 * A dispatcher for a pool library (piscina, tinypool) that runs `run(n)` on
 * one of `size` workers: it is fed at most one job per worker, so its own
 * queue stays empty and the fair queue decides who goes next. `run` rejects
 * with WorkerDiedError when the worker died (the library replaces it).
 */
export function poolDispatcher(
  size: number,
  run: (job: Job) => Promise<number>,
  queueWait: HistogramData | null = null,
): Dispatcher<number> {
  const dispatcher: Dispatcher<number> = new Dispatcher<number>({
    queueWait,
    send: (slot, job) => {
      run(job).then(
        (value) => dispatcher.answer(slot, value),
        (error: unknown) => dispatcher.failed(slot, error),
      );
    },
  });
  for (let slot = 0; slot < size; slot++) dispatcher.ready(slot);
  return dispatcher;
}
