import type { Job, Lane } from './job.js';

/**
 * The jobs waiting for a worker, one lane per connection, served round-robin
 * across lanes: a connection that queued a thousand jobs and one that queued
 * one each get the next free worker in turn, so the light one waits for at
 * most one job of each other connection. Within a lane, jobs go in arrival
 * order. A job whose worker died goes ahead of every lane: it has waited once.
 */
export class FairQueue {
  readonly #retries: Job[] = [];
  /**
   * Lanes that have jobs waiting, the next to serve first. A Set keeps
   * insertion order: serving a lane moves it to the back in O(1).
   */
  readonly #turns = new Set<Lane>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(job: Job): void {
    this.#size++;
    if (job.attempt === 2) {
      this.#retries.push(job);
      return;
    }
    const lane = job.lane;
    lane.jobs.push(job);
    if (lane.waiting === 1) this.#turns.add(lane);
  }

  /** The job `shift` would return, left in place. */
  peek(): Job | undefined {
    if (this.#retries.length > 0) return this.#retries[0];
    const first = this.#turns.values().next();
    if (first.done === true) return undefined;
    const lane = first.value;
    return lane.jobs[lane.head];
  }

  shift(): Job | undefined {
    const retry = this.#retries.shift();
    if (retry !== undefined) {
      this.#size--;
      return retry;
    }
    const first = this.#turns.values().next();
    if (first.done === true) return undefined;
    const lane = first.value;
    const job = lane.jobs[lane.head++]!;
    this.#size--;
    this.#turns.delete(lane);
    if (lane.waiting > 0) this.#turns.add(lane);
    else {
      lane.jobs.length = 0;
      lane.head = 0;
    }
    return job;
  }

  /** Takes out every waiting job of `lane` (retries included) and returns them. */
  drop(lane: Lane): Job[] {
    const jobs = lane.jobs.slice(lane.head);
    lane.jobs.length = 0;
    lane.head = 0;
    this.#turns.delete(lane);
    for (let i = this.#retries.length - 1; i >= 0; i--) {
      if (this.#retries[i]!.lane === lane) jobs.push(this.#retries.splice(i, 1)[0]!);
    }
    this.#size -= jobs.length;
    return jobs;
  }

  /** Takes out every waiting job and returns them. */
  clear(): Job[] {
    const jobs = this.#retries.splice(0);
    for (const lane of this.#turns) {
      for (let i = lane.head; i < lane.jobs.length; i++) jobs.push(lane.jobs[i]!);
      lane.jobs.length = 0;
      lane.head = 0;
    }
    this.#turns.clear();
    this.#size = 0;
    return jobs;
  }
}
