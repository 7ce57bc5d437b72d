import type { Job, Lane } from './job.js';

/** Served lanes at the front of the turn array are cut off once there are this many, and half of it. */
const COMPACT_AT = 1024;

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
   * Lanes that have jobs waiting, the next to serve at `#turn`: each such
   * lane is in here once. Serving a lane moves it to the back; an array with
   * a moving head does that in O(1) with no hashing, which a Set did not
   * (a job taken out per request, on the dispatch path).
   */
  #turns: Lane[] = [];
  #turn = 0;
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
    if (lane.waiting === 1) this.#turns.push(lane);
  }

  /** The job `shift` would return, left in place. */
  peek(): Job | undefined {
    if (this.#retries.length > 0) return this.#retries[0];
    const lane = this.#turns[this.#turn];
    return lane === undefined ? undefined : lane.jobs[lane.head];
  }

  shift(): Job | undefined {
    if (this.#retries.length > 0) {
      this.#size--;
      return this.#retries.shift();
    }
    const turns = this.#turns;
    const lane = turns[this.#turn];
    if (lane === undefined) return undefined;
    const job = lane.jobs[lane.head++]!;
    this.#size--;
    if (lane.waiting === 0) {
      lane.jobs.length = 0;
      lane.head = 0;
      this.#turn++;
    } else if (turns.length - this.#turn > 1) {
      // Others wait: this lane goes to the back. Alone, it simply stays first.
      this.#turn++;
      turns.push(lane);
    }
    if (this.#turn === turns.length) {
      turns.length = 0;
      this.#turn = 0;
    } else if (this.#turn >= COMPACT_AT && this.#turn * 2 >= turns.length) {
      this.#turns = turns.slice(this.#turn);
      this.#turn = 0;
    }
    return job;
  }

  /** Takes out every waiting job of `lane` (retries included) and returns them. */
  drop(lane: Lane): Job[] {
    const jobs = lane.jobs.slice(lane.head);
    if (jobs.length > 0) {
      const at = this.#turns.indexOf(lane, this.#turn);
      if (at !== -1) this.#turns.splice(at, 1);
    }
    lane.jobs.length = 0;
    lane.head = 0;
    for (let i = this.#retries.length - 1; i >= 0; i--) {
      if (this.#retries[i]!.lane === lane) jobs.push(this.#retries.splice(i, 1)[0]!);
    }
    this.#size -= jobs.length;
    return jobs;
  }

  /** Takes out every waiting job and returns them. */
  clear(): Job[] {
    const jobs = this.#retries.splice(0);
    for (let t = this.#turn; t < this.#turns.length; t++) {
      const lane = this.#turns[t]!;
      for (let i = lane.head; i < lane.jobs.length; i++) jobs.push(lane.jobs[i]!);
      lane.jobs.length = 0;
      lane.head = 0;
    }
    this.#turns.length = 0;
    this.#turn = 0;
    this.#size = 0;
    return jobs;
  }
}
