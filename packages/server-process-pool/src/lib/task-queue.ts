import type { Task, TaskQueue } from 'tinypool';

/** The tasks of one connection that are still waiting in the queue. */
export type Owner = Set<Task>;

/**
 * Tinypool's task queue (the `taskQueue` option), in arrival order, that also
 * knows which connection each waiting task belongs to, so that a connection
 * that closes can cancel what it still has queued and nothing else.
 *
 * Why not tinypool's AbortSignal: aborting a task that is already running
 * terminates its worker process, and a new one is forked (tens of ms of CPU).
 * Letting a started fib finish is cheaper than that for every n up to the
 * default --max-n, and a client that connects, sends and disconnects in a
 * loop must not be able to make the server fork in a loop.
 *
 * Tinypool pushes a task synchronously inside `pool.run()`, so the owner is
 * set around that call (see `runFor`); a task tinypool hands to an idle worker
 * at once never enters the queue and is never cancelled.
 */
export class OwnedTaskQueue implements TaskQueue {
  /** Insertion-ordered: shift takes the oldest. */
  readonly #tasks = new Set<Task>();
  readonly #owners = new Map<Task, Owner>();
  #current: Owner | null = null;

  get size(): number {
    return this.#tasks.size;
  }

  /** Calls `run` (which calls `pool.run`) with `owner` as the owner of whatever it queues. */
  runFor<T>(owner: Owner, run: () => T): T {
    this.#current = owner;
    try {
      return run();
    } finally {
      this.#current = null;
    }
  }

  push(task: Task): void {
    this.#tasks.add(task);
    const owner = this.#current;
    if (owner !== null) {
      owner.add(task);
      this.#owners.set(task, owner);
    }
  }

  shift(): Task | null {
    const first = this.#tasks.values().next();
    if (first.done === true) return null;
    this.remove(first.value);
    return first.value;
  }

  remove(task: Task): void {
    this.#tasks.delete(task);
    const owner = this.#owners.get(task);
    if (owner !== undefined) {
      owner.delete(task);
      this.#owners.delete(task);
    }
  }

  /** Every queued task, cancelled (tinypool rejects its run() with a CancelError). */
  cancel(): void {
    for (const task of [...this.#tasks]) {
      this.remove(task);
      task.cancel();
    }
  }

  /** The queued tasks of `owner`, cancelled; those already running are left to finish. */
  cancelOwnedBy(owner: Owner): void {
    for (const task of [...owner]) {
      this.remove(task);
      task.cancel();
    }
  }
}
