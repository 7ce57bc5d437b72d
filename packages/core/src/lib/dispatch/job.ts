/** One connection, as the dispatcher sees it: its jobs still waiting for a worker, oldest first. */
export class Lane {
  readonly jobs: Job[] = [];
  /** Index of the oldest waiting job in `jobs` (shifting an array is O(n)). */
  head = 0;
  /** The connection is gone: its jobs are no longer worth computing. */
  closed = false;

  get waiting(): number {
    return this.jobs.length - this.head;
  }
}

/** A request on its way to a worker and back. */
export class Job {
  /** performance.now() when it was queued, when queue waits are measured. */
  queuedAt = 0;
  readonly resolve: (value: number) => void;
  readonly reject: (error: unknown) => void;
  readonly promise: Promise<number>;

  constructor(
    /** Unique per dispatcher: a worker's answer names the job it answers. */
    readonly id: number,
    readonly n: number,
    readonly lane: Lane,
    /** 2 once its worker died: it is retried once, alone and ahead of the queue. */
    public attempt: 1 | 2 = 1,
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
