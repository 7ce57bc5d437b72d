/** One connection, as the queue sees it. */
export class Owner {
  /** Its jobs still waiting in the queue (not those a worker holds). */
  readonly waiting = new Set<Job>();
  /** The connection is gone: its jobs are no longer worth computing. */
  closed = false;
}

/** A request on its way through the queue to a worker and back. */
export class Job {
  /** The queue lane it waits in, if it waits. */
  lane: Set<Job> | null = null;
  /** performance.now() when it arrived, when metrics are on (fib_queue_wait_seconds). */
  queuedAt = 0;
  readonly resolve: (value: number) => void;
  readonly reject: (error: unknown) => void;
  readonly promise: Promise<number>;

  constructor(
    readonly n: number,
    readonly owner: Owner,
  ) {
    let resolve!: (value: number) => void;
    let reject!: (error: unknown) => void;
    this.promise = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.resolve = resolve;
    this.reject = reject;
  }
}

/**
 * The queue the server keeps: jobs in arrival order, except that a job whose
 * worker died goes first (it has waited already). Sets keep insertion order
 * and delete in O(1), so a connection that closes takes its waiting jobs out
 * of the middle at no cost to the others.
 */
export class JobQueue {
  readonly #retries = new Set<Job>();
  readonly #waiting = new Set<Job>();

  get size(): number {
    return this.#retries.size + this.#waiting.size;
  }

  push(job: Job): void {
    this.#enter(job, this.#waiting);
  }

  /** A job whose worker died: ahead of every other. */
  pushRetry(job: Job): void {
    this.#enter(job, this.#retries);
  }

  shift(): Job | undefined {
    const lane = this.#retries.size > 0 ? this.#retries : this.#waiting;
    const first = lane.values().next();
    if (first.done === true) return undefined;
    this.#leave(first.value);
    return first.value;
  }

  /** Takes out every waiting job of `owner` and returns them. */
  removeOwnedBy(owner: Owner): Job[] {
    const jobs = [...owner.waiting];
    for (const job of jobs) this.#leave(job);
    return jobs;
  }

  /** Takes out every waiting job and returns them. */
  removeAll(): Job[] {
    const jobs = [...this.#retries, ...this.#waiting];
    for (const job of jobs) this.#leave(job);
    return jobs;
  }

  #enter(job: Job, lane: Set<Job>): void {
    job.lane = lane;
    lane.add(job);
    job.owner.waiting.add(job);
  }

  #leave(job: Job): void {
    job.lane?.delete(job);
    job.lane = null;
    job.owner.waiting.delete(job);
  }
}
