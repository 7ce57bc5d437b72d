import test from 'ava';
import fc from 'fast-check';
import { FairQueue, Job, Lane } from '@fib/core';

/**
 * The order FairQueue promises, written the slow and obvious way: retries
 * first, oldest first; then lanes in turn (a lane goes to the back once
 * served, a lane that had nothing waiting joins at the back), each lane's jobs
 * oldest first.
 */
class Model {
  readonly retries: Job[] = [];
  readonly turns: Lane[] = [];
  readonly waiting = new Map<Lane, Job[]>();

  push(job: Job): void {
    if (job.attempt === 2) {
      this.retries.push(job);
      return;
    }
    const jobs = this.waiting.get(job.lane) ?? [];
    if (jobs.length === 0) this.turns.push(job.lane);
    jobs.push(job);
    this.waiting.set(job.lane, jobs);
  }

  shift(): Job | undefined {
    if (this.retries.length > 0) return this.retries.shift();
    const lane = this.turns.shift();
    if (lane === undefined) return undefined;
    const jobs = this.waiting.get(lane)!;
    const job = jobs.shift()!;
    if (jobs.length > 0) this.turns.push(lane);
    return job;
  }

  drop(lane: Lane): Job[] {
    const jobs = this.waiting.get(lane) ?? [];
    this.waiting.set(lane, []);
    const at = this.turns.indexOf(lane);
    if (at !== -1) this.turns.splice(at, 1);
    const retries = this.retries.filter((job) => job.lane === lane).reverse();
    this.retries.splice(0, this.retries.length, ...this.retries.filter((job) => job.lane !== lane));
    return [...jobs, ...retries];
  }

  get size(): number {
    let size = this.retries.length;
    for (const jobs of this.waiting.values()) size += jobs.length;
    return size;
  }
}

const LANES = 4;
const step = fc.oneof(
  fc.record({ op: fc.constant('push' as const), lane: fc.nat(LANES - 1), retry: fc.boolean() }),
  fc.record({ op: fc.constant('shift' as const) }),
  fc.record({ op: fc.constant('drop' as const), lane: fc.nat(LANES - 1) }),
  fc.record({ op: fc.constant('clear' as const) }),
);

test('FairQueue serves retries first, then lanes in turn, each in arrival order, as a plain model does', (t) => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
      const queue = new FairQueue();
      let model = new Model();
      const lanes = Array.from({ length: LANES }, () => new Lane());
      let id = 0;
      for (const s of steps) {
        if (s.op === 'push') {
          const job = new Job(++id, 1, lanes[s.lane]!, s.retry ? 2 : 1);
          queue.push(job);
          model.push(job);
        } else if (s.op === 'shift') {
          const expected = model.shift();
          t.is(queue.peek(), expected);
          t.is(queue.shift(), expected);
        } else if (s.op === 'drop') {
          t.deepEqual(
            queue.drop(lanes[s.lane]!).map((job) => job.id),
            model.drop(lanes[s.lane]!).map((job) => job.id),
          );
        } else {
          const all = queue.clear().map((job) => job.id);
          const expected: number[] = [];
          for (let job = model.shift(); job !== undefined; job = model.shift()) expected.push(job.id);
          t.deepEqual(
            [...all].sort((a, b) => a - b),
            [...expected].sort((a, b) => a - b),
          );
          model = new Model();
        }
        t.is(queue.size, model.size);
      }
    }),
  );
});

test('FairQueue keeps its order past many turns of one lane among many', (t) => {
  // Enough turns that the served front of its turn list is cut off (and the order must survive it).
  const queue = new FairQueue();
  const lanes = Array.from({ length: 3 }, () => new Lane());
  let id = 0;
  for (let i = 0; i < 3000; i++) for (const lane of lanes) queue.push(new Job(++id, 1, lane));
  const served: number[] = [];
  for (let job = queue.shift(); job !== undefined; job = queue.shift()) served.push(lanes.indexOf(job.lane));
  t.is(served.length, 9000);
  t.true(served.every((lane, i) => lane === i % 3));
});
