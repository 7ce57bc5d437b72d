import { ConnectionClosedError, EngineClosedError, WorkerDiedError } from '../errors.js';
import { MAX_N_LIMIT } from '@fib/protocol';
import { diedTwice } from '../retry.js';
import type { HistogramData } from '../stats.js';
import type { Session } from '../strategy.js';
import { FairQueue } from './fair-queue.js';
import { Job, Lane } from './job.js';
import type { WorkerAnswer } from './task.js';

const MS_PER_S = 1000;
/** fib(n) costs about this many times fib(n - 1): the golden ratio. */
const GROWTH = (1 + Math.sqrt(5)) / 2;
/** The cost of fib(n), in units of fib(0)'s, for every n a request may ask: no power computed per job. */
const COST = Float64Array.from({ length: MAX_N_LIMIT + 1 }, (_, n) => GROWTH ** n);
/**
 * The n whose fib costs about one hop to a worker and back (thread, pool and
 * queue alike), when a strategy has not measured its own: 19 to 21 on this
 * project's 2-core machine (`npm run measure -- dispatch`, docs/benchmarks.md).
 */
export const DEFAULT_HOP_N = 20;
/**
 * A batch computes in about this many hops at most: enough to pay for the
 * message it travels in, little enough that a light connection's job waits
 * for no more than that behind it (the fairness bound).
 */
const BATCH_BUDGET_HOPS = 2;
/** Jobs in one message at most, however cheap: bounds a message's size and its answer's. */
const MAX_BATCH = 256;

/** A session whose answers always come later, from a worker. */
export interface DispatchSession extends Session {
  compute(n: number): Promise<number>;
}

export interface DispatcherOptions<W> {
  /**
   * Hands `jobs` to `worker`, which holds nothing, in one message (see
   * `taskOf`). The strategy reports the outcome with `answer`, `failed` or
   * `lost`.
   */
  readonly send: (worker: W, jobs: readonly Job[]) => void;
  /** fib_queue_wait_seconds, when metrics are on. */
  readonly queueWait?: HistogramData | null;
  /** The n whose fib costs about one hop to this strategy's workers and back (default DEFAULT_HOP_N). */
  readonly hopN?: number;
  /**
   * Send a connection's jobs once its read is parsed (its session's `flush`),
   * not at the end of the turn: for a dispatcher of one connection (thread),
   * where waiting for other connections' reads gains no batching and costs
   * a turn of the event loop per request.
   */
  readonly sendAfterRead?: boolean;
}

/**
 * The one way requests reach workers in the strategies that have them: each
 * connection's jobs wait in a lane of a FairQueue, and a worker that is free
 * takes the next jobs across lanes in turn. A worker holds one batch at a
 * time, so nothing waits in a worker behind another connection's backlog.
 *
 * Batching: jobs asked for together (one read, or while every worker was
 * busy) travel in one message, as long as the batch's estimated cost stays
 * within BATCH_BUDGET_HOPS hops (fib(n) costs GROWTH^(n - hopN) hops). A job
 * that costs more goes alone, so expensive jobs spread over the free
 * workers and no cheap job waits behind one in the same message.
 *
 * A job whose worker died is retried once, alone and ahead of the queue (it
 * may be the one that killed it), then answered `ERR internal` (the rule of
 * `retryOnce`, kept here without its promise per job); a closed connection's
 * waiting jobs are dropped.
 *
 * `W` is whatever the strategy calls a worker: a WorkerHandle, or a slot
 * number for a pool library that is fed one task per thread.
 */
export class Dispatcher<W> {
  readonly #queue = new FairQueue();
  /** Free workers, most recently freed last (its caches are warm). */
  readonly #idle: W[] = [];
  readonly #held = new Map<W, readonly Job[]>();
  /** Workers that finish the batch they hold and take no other. */
  readonly #retired = new Set<W>();
  readonly #send: (worker: W, jobs: readonly Job[]) => void;
  readonly #queueWait: HistogramData | null;
  /** What a batch may cost, in units of fib(0)'s cost. */
  readonly #budget: number;
  readonly #sendAfterRead: boolean;
  #nextId = 0;
  #closed: Error | null = null;
  /** An immediate will hand the queued jobs to the idle workers. */
  #pumping = false;

  constructor(options: DispatcherOptions<W>) {
    this.#send = options.send;
    this.#queueWait = options.queueWait ?? null;
    this.#budget = BATCH_BUDGET_HOPS * COST[options.hopN ?? DEFAULT_HOP_N]!;
    this.#sendAfterRead = options.sendAfterRead === true;
  }

  /** Jobs waiting for a worker. */
  get waiting(): number {
    return this.#queue.size;
  }

  /** A connection's session: its requests wait in a lane of their own. */
  open(): DispatchSession {
    const lane = new Lane();
    const session: DispatchSession = {
      compute: (n) => this.#submit(n, lane),
      close: () => {
        lane.closed = true;
        for (const job of this.#queue.drop(lane)) job.reject(new ConnectionClosedError());
      },
    };
    // Only then: the connection calls a session's flush after every read.
    if (this.#sendAfterRead) {
      session.flush = () => {
        if (this.#pumping) this.#pump();
      };
    }
    return session;
  }

  /** The jobs `worker` holds, if any, in the order of its answers. */
  holds(worker: W): readonly Job[] | undefined {
    return this.#held.get(worker);
  }

  /** `worker` is free (new, or done): it takes the next batch, or waits for one. */
  ready(worker: W): void {
    if (this.#retired.has(worker) || this.#closed !== null) return;
    if (this.#queue.size === 0) this.#idle.push(worker);
    else this.#dispatch(worker);
  }

  /** `worker` computed the batch it holds (`answer`, one value per job); it is free again. */
  answer(worker: W, answer: WorkerAnswer): void {
    const jobs = this.#release(worker);
    if (jobs !== undefined) {
      if (typeof answer === 'number') jobs[0]!.resolve(answer);
      else for (let i = 0; i < jobs.length; i++) jobs[i]!.resolve(answer[i]!);
    }
    this.ready(worker);
  }

  /** The batch `worker` holds failed with `error` (a WorkerDiedError is retried once); the worker lives on. */
  failed(worker: W, error: unknown): void {
    this.#reject(worker, error);
    this.ready(worker);
  }

  /** `worker` takes no batch after the one it holds (it is being replaced). */
  retire(worker: W): void {
    this.#retired.add(worker);
    this.#unidle(worker);
  }

  /** `worker` is gone; the jobs it held fail with `error` (a WorkerDiedError: each retried once). */
  lost(worker: W, error: unknown): void {
    this.#retired.delete(worker);
    this.#unidle(worker);
    this.#reject(worker, error);
  }

  /** No job waits any more: those queued are rejected with `error`, and so are new ones. */
  close(error: Error = new EngineClosedError()): void {
    this.#closed ??= error;
    this.#idle.length = 0;
    for (const job of this.#queue.clear()) job.reject(error);
  }

  #submit(n: number, lane: Lane): Promise<number> {
    if (this.#closed !== null) return Promise.reject(this.#closed);
    if (lane.closed) return Promise.reject(new ConnectionClosedError());
    const job = new Job(++this.#nextId, n, lane);
    this.#enqueue(job);
    return job.promise;
  }

  #enqueue(job: Job): void {
    if (this.#queueWait !== null) job.queuedAt = performance.now();
    this.#queue.push(job);
    // Every read of this turn of the event loop is parsed before the pump runs: its requests share batches.
    if (this.#idle.length > 0 && !this.#pumping) {
      this.#pumping = true;
      setImmediate(() => {
        if (this.#pumping) this.#pump();
      });
    }
  }

  #pump(): void {
    this.#pumping = false;
    while (this.#idle.length > 0 && this.#queue.size > 0) this.#dispatch(this.#idle.pop()!);
  }

  /** Hands `worker` the next batch: the queue is not empty. */
  #dispatch(worker: W): void {
    const queue = this.#queue;
    const first = queue.shift()!;
    const jobs = [first];
    let cost = COST[first.n]!;
    // A retry goes alone: it may be what killed its worker. So does a job that costs more than a batch may.
    if (first.attempt === 1 && cost <= this.#budget) {
      for (let next = queue.peek(); next !== undefined && jobs.length < MAX_BATCH; next = queue.peek()) {
        cost += COST[next.n]!;
        if (next.attempt === 2 || cost > this.#budget) break;
        jobs.push(queue.shift()!);
      }
    }
    if (this.#queueWait !== null) {
      // A job that found a free worker waited ~0 s: it counts, so that the share of jobs that waited shows.
      const now = performance.now();
      for (const job of jobs) this.#queueWait.observe((now - job.queuedAt) / MS_PER_S);
    }
    this.#held.set(worker, jobs);
    this.#send(worker, jobs);
  }

  #reject(worker: W, error: unknown): void {
    const jobs = this.#release(worker);
    if (jobs !== undefined) for (const job of jobs) this.#fail(job, error);
  }

  /** The jobs `worker` held, which it holds no more. */
  #release(worker: W): readonly Job[] | undefined {
    const jobs = this.#held.get(worker);
    this.#held.delete(worker);
    return jobs;
  }

  /** A job that failed: a first death is retried, a second is `ERR internal`, anything else passes on. */
  #fail(job: Job, error: unknown): void {
    if (!(error instanceof WorkerDiedError)) job.reject(error);
    else if (job.attempt === 2) job.reject(diedTwice(error));
    // A retry for a connection that is gone is not worth a worker's time.
    else if (job.lane.closed) job.reject(new ConnectionClosedError());
    else if (this.#closed !== null) job.reject(this.#closed);
    else {
      job.attempt = 2;
      this.#enqueue(job);
    }
  }

  #unidle(worker: W): void {
    const index = this.#idle.indexOf(worker);
    if (index !== -1) this.#idle.splice(index, 1);
  }
}

/**
 * A dispatcher for a pool library (piscina, tinypool) that runs `run(jobs)`
 * on one of `size` workers: it is fed at most one task per worker, so its own
 * queue stays empty and the fair queue decides who goes next. `run` rejects
 * with WorkerDiedError when the worker died (the library replaces it).
 */
export function poolDispatcher(
  size: number,
  run: (jobs: readonly Job[]) => Promise<WorkerAnswer>,
  options: Omit<DispatcherOptions<number>, 'send'> = {},
): Dispatcher<number> {
  const dispatcher: Dispatcher<number> = new Dispatcher<number>({
    ...options,
    send: (slot, jobs) => {
      run(jobs).then(
        (answer) => dispatcher.answer(slot, answer),
        (error: unknown) => dispatcher.failed(slot, error),
      );
    },
  });
  for (let slot = 0; slot < size; slot++) dispatcher.ready(slot);
  return dispatcher;
}
