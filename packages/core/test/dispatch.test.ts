import test from 'ava';
import fc from 'fast-check';
import {
  ConnectionClosedError,
  Dispatcher,
  EngineClosedError,
  fib,
  inlineUpTo,
  parseArgs,
  resolveOptions,
  usage,
  type Job,
  type Session,
  WorkerDiedError,
} from '@fib/core';
import { FibError } from '@fib/protocol';

/** Lets the dispatcher's pump (an immediate) and every promise reaction run. */
const settle = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

/** A job as it was sent: its attempt then. */
interface Sent {
  readonly id: number;
  readonly n: number;
  readonly attempt: 1 | 2;
}

/** Workers that compute only when told to: the test decides every answer and every death. */
function harness(workers: number, hopN?: number) {
  /** Each job as it was sent (a retried job's attempt changes). */
  const sent: Sent[] = [];
  const batches: (readonly Job[])[] = [];
  const dispatcher = new Dispatcher<number>({
    hopN,
    send: (_worker, jobs) => {
      sent.push(...jobs.map(({ id, n, attempt }) => ({ id, n, attempt })));
      batches.push(jobs);
    },
  });
  for (let worker = 0; worker < workers; worker++) dispatcher.ready(worker);
  return { dispatcher, sent, batches };
}

/** fib(n) costs about PHI times fib(n - 1): the dispatcher's cost model. */
const PHI = (1 + Math.sqrt(5)) / 2;

/** The answers to a batch: fib of each of its n. */
const answers = (jobs: readonly Job[] | undefined) => (jobs ?? []).map((job) => fib(job.n));

test('a light connection is served next, however much another one queued', async (t) => {
  const { dispatcher, sent } = harness(2);
  const heavy = dispatcher.open();
  const light = dispatcher.open();
  const heavyAnswers = Array.from({ length: 300 }, () => heavy.compute(30));
  await settle();
  // fib(30) costs more than a batch may: each goes alone, one per worker.
  t.is(sent.length, 2);
  const lightAnswer = light.compute(1);
  // Round-robin: the heavy lane, first in turn, takes the first free worker, the light one the next.
  dispatcher.answer(0, fib(30));
  dispatcher.answer(1, fib(30));
  t.deepEqual(
    sent.map((job) => job.n),
    [30, 30, 30, 1],
  );
  dispatcher.answer(1, 1);
  t.is(await lightAnswer, 1);
  // The light job waited for one heavy job, not for the 296 still queued.
  t.is(dispatcher.waiting, 296);
  heavy.close();
  // The jobs the workers hold are finished, not cut off.
  dispatcher.answer(0, fib(30));
  dispatcher.answer(1, fib(30));
  const outcomes = await Promise.allSettled(heavyAnswers);
  t.is(outcomes.filter((o) => o.status === 'rejected').length, 296);
  t.true(outcomes.slice(4).every((o) => o.status === 'rejected' && o.reason instanceof ConnectionClosedError));
});

test('requests asked together travel in few messages; an expensive one goes alone', async (t) => {
  const { dispatcher, batches } = harness(2);
  const session = dispatcher.open();
  const results = [1, 2, 3, 30, 4, 5].map((n) => session.compute(n));
  await settle();
  // The cheap ones of the read share a message; fib(30) goes to the other free worker, alone.
  t.deepEqual(
    batches.map((jobs) => jobs.map((job) => job.n)),
    [[1, 2, 3], [30]],
  );
  dispatcher.answer(1, answers(dispatcher.holds(1)));
  t.deepEqual(
    dispatcher.holds(1)?.map((job) => job.n),
    [4, 5],
  );
  dispatcher.answer(1, answers(dispatcher.holds(1)));
  dispatcher.answer(0, fib(30));
  t.deepEqual(await Promise.all(results), [1, 2, 3, 30, 4, 5].map(fib));
});

test('jobs that cost about a hop each are spread over the free workers, a few per message', async (t) => {
  const { dispatcher, batches } = harness(2, 15);
  const session = dispatcher.open();
  const results = Array.from({ length: 6 }, () => session.compute(15));
  await settle();
  // A batch may cost two hops: two fib(15) each, one batch per free worker, the rest waits.
  t.deepEqual(
    batches.map((jobs) => jobs.length),
    [2, 2],
  );
  t.is(dispatcher.waiting, 2);
  for (let round = 0; round < 2; round++) {
    for (const worker of [0, 1]) {
      if (dispatcher.holds(worker)) dispatcher.answer(worker, answers(dispatcher.holds(worker)));
    }
  }
  t.deepEqual(await Promise.all(results), Array(6).fill(fib(15)));
});

test('with sendAfterRead, the jobs of a read leave when its session is flushed, in one batch; without, at the end of the turn', async (t) => {
  for (const sendAfterRead of [true, false]) {
    const batches: number[][] = [];
    const dispatcher = new Dispatcher<number>({
      sendAfterRead,
      send: (_worker, jobs) => batches.push(jobs.map((job) => job.n)),
    });
    dispatcher.ready(0);
    const session = dispatcher.open();
    const answers = [1, 2, 3].map((n) => session.compute(n));
    t.deepEqual(batches, [], 'nothing leaves while the read is parsed');
    session.flush?.();
    t.deepEqual(batches, sendAfterRead ? [[1, 2, 3]] : [], `sendAfterRead: ${sendAfterRead}`);
    await settle();
    t.deepEqual(batches, [[1, 2, 3]], 'sent once');
    dispatcher.answer(0, [1, 1, 2]);
    t.deepEqual(await Promise.all(answers), [1, 1, 2]);
  }
});

test('a job whose worker died goes ahead of every waiting job, once', async (t) => {
  const { dispatcher, sent } = harness(1);
  const session = dispatcher.open();
  const first = session.compute(25);
  const second = session.compute(26);
  await settle();
  dispatcher.lost(0, new WorkerDiedError());
  // The replacement is ready after the retry was queued (a process takes milliseconds to start).
  await settle();
  dispatcher.ready(1);
  t.deepEqual(
    sent.map((job) => [job.n, job.attempt]),
    [
      [25, 1],
      [25, 2],
    ],
  );
  dispatcher.lost(1, new WorkerDiedError());
  await settle();
  dispatcher.ready(2);
  await t.throwsAsync(first, { instanceOf: FibError, message: /died, twice/ });
  t.is(sent.at(-1)?.n, 26);
  dispatcher.answer(2, 8);
  t.is(await second, 8);
});

test('a retired worker finishes its job and takes no other; close rejects what waits', async (t) => {
  const { dispatcher, sent } = harness(1);
  const session = dispatcher.open();
  const first = session.compute(30);
  const second = session.compute(4);
  await settle();
  dispatcher.retire(0);
  dispatcher.answer(0, 2);
  t.is(await first, 2);
  t.is(sent.length, 1);
  dispatcher.close();
  await t.throwsAsync(second, { instanceOf: EngineClosedError });
  await t.throwsAsync(session.compute(1), { instanceOf: EngineClosedError });
});

test('inlineUpTo computes n up to the limit here and sends the rest on', async (t) => {
  const calls: number[] = [];
  const inner: Session = {
    compute: (n) => {
      calls.push(n);
      return Promise.resolve(-1);
    },
    close: () => calls.push(-1),
  };
  const session = inlineUpTo(inner, 15);
  t.is(session.compute(15), 610);
  t.is(await session.compute(16), -1);
  session.close();
  t.deepEqual(calls, [16, -1]);
});

type Command =
  | { readonly kind: 'read'; readonly lane: number; readonly ks: readonly number[] }
  | { readonly kind: 'answer'; readonly pick: number }
  | { readonly kind: 'kill'; readonly pick: number }
  | { readonly kind: 'close'; readonly lane: number };

const LANES = 3;
/** Each lane asks for n in a range of its own, so that a job sent shows whose it is. */
const N_PER_LANE = 7;
const laneOf = (n: number) => Math.floor(n / N_PER_LANE);
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    // The requests of one read: asked for together, before the dispatcher's pump runs.
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      lane: fc.nat(LANES - 1),
      ks: fc.array(fc.nat(N_PER_LANE - 1), { minLength: 1, maxLength: 6 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('answer' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), lane: fc.nat(LANES - 1) }) },
);

interface Request {
  readonly n: number;
  readonly closedBefore: boolean;
  outcome?: PromiseSettledResult<number>;
}

test('order, cancellation and retry-once hold with batching, over random reads, closes and deaths', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }),
      // Which n costs a hop: from "everything is expensive" to "everything batches".
      fc.integer({ min: 0, max: 22 }),
      fc.array(command, { maxLength: 60 }),
      async (size, hopN, commands) => {
        const held = new Map<number, readonly Job[]>();
        const sent: Sent[] = [];
        const batches: Sent[][] = [];
        const dispatcher = new Dispatcher<number>({
          hopN,
          send: (worker, jobs) => {
            held.set(worker, jobs);
            const batch = jobs.map(({ id, n, attempt }) => ({ id, n, attempt }));
            sent.push(...batch);
            batches.push(batch);
          },
        });
        let nextWorker = 0;
        for (; nextWorker < size; nextWorker++) dispatcher.ready(nextWorker);
        const sessions = Array.from({ length: LANES }, () => dispatcher.open());
        /** For each closed lane, how many jobs had been sent when it closed. */
        const closedAt = new Map<number, number>();
        const requests: Request[] = [];
        /** Jobs held by a worker that died. */
        let orphaned = 0;
        const finish = (worker: number, kill: boolean) => {
          const jobs = held.get(worker)!;
          held.delete(worker);
          if (!kill) return dispatcher.answer(worker, answers(jobs));
          orphaned += jobs.length;
          dispatcher.lost(worker, new WorkerDiedError());
          // The replacement comes up after the retries are queued.
          void settle().then(() => dispatcher.ready(nextWorker++));
        };
        for (const step of commands) {
          if (step.kind === 'read') {
            for (const k of step.ks) {
              const request: Request = { n: step.lane * N_PER_LANE + k, closedBefore: closedAt.has(step.lane) };
              requests.push(request);
              sessions[step.lane]!.compute(request.n).then(
                (value) => (request.outcome = { status: 'fulfilled', value }),
                (reason: unknown) => (request.outcome = { status: 'rejected', reason }),
              );
            }
          } else if (step.kind === 'close') {
            if (!closedAt.has(step.lane)) closedAt.set(step.lane, sent.length);
            sessions[step.lane]!.close();
          } else if (held.size > 0) {
            finish([...held.keys()][step.pick % held.size]!, step.kind === 'kill');
          }
          await settle();
        }
        // The workers answer what they hold until nothing is left.
        for (let i = 0; i < 1000 && held.size > 0; i++) {
          finish(held.keys().next().value!, false);
          await settle();
        }
        if (held.size > 0 || dispatcher.waiting > 0) return false;
        for (const request of requests) {
          const outcome = request.outcome;
          if (outcome === undefined) return false;
          const lane = laneOf(request.n);
          if (request.closedBefore) {
            if (outcome.status !== 'rejected' || !(outcome.reason instanceof ConnectionClosedError)) return false;
          } else if (!closedAt.has(lane)) {
            // fib(n), or ERR internal after two deaths.
            const ok =
              outcome.status === 'fulfilled' ? outcome.value === fib(request.n) : outcome.reason instanceof FibError;
            if (!ok) return false;
          } else if (outcome.status === 'fulfilled' && outcome.value !== fib(request.n)) return false;
        }
        // Nothing of a closed connection is sent after it closed.
        for (const [lane, at] of closedAt) if (sent.slice(at).some((job) => laneOf(job.n) === lane)) return false;
        // Within a connection, first attempts are sent in the order they were asked.
        for (let lane = 0; lane < LANES; lane++) {
          const ids = sent.filter((job) => job.attempt === 1 && laneOf(job.n) === lane).map((job) => job.id);
          if (ids.some((id, i) => i > 0 && id < ids[i - 1]!)) return false;
        }
        // A retry travels alone; a batch of several stays within its budget of two hops.
        const budget = 2 * PHI ** hopN;
        for (const batch of batches) {
          if (batch.length === 1) continue;
          if (batch.some((job) => job.attempt === 2)) return false;
          if (batch.reduce((cost, job) => cost + PHI ** job.n, 0) > budget * (1 + 1e-9)) return false;
        }
        // A second attempt only for a job a dead worker held, never a third.
        return sent.filter((job) => job.attempt === 2).length <= orphaned;
      },
    ),
    { numRuns: 200 },
  );
  t.pass();
});

test('--inline-max-n is taken only by strategies that dispatch to workers', (t) => {
  const dispatching = { hasWorkerPool: true, dispatchesToWorkers: true };
  t.is(resolveOptions({}, dispatching).inlineMaxN, 0);
  t.is(resolveOptions({ inlineMaxN: 15 }, dispatching).inlineMaxN, 15);
  t.throws(() => resolveOptions({ inlineMaxN: 79 }, dispatching), { message: /options\.inlineMaxN must be/ });
  t.throws(() => resolveOptions({ inlineMaxN: 15 }, { hasWorkerPool: false }), {
    message: /options\.inlineMaxN does not apply/,
  });
  t.throws(() => parseArgs(['--inline-max-n', '15'], { hasWorkerPool: true }), {
    message: /--inline-max-n does not apply/,
  });
  // One environment serves every strategy: the variable is ignored where the flag does not apply.
  const parsed = parseArgs([], { hasWorkerPool: false }, { FIB_INLINE_MAX_N: '15' });
  t.is(parsed.action === 'serve' && parsed.options.inlineMaxN, 0);
  t.false(usage('fib-server-x', 'x', { hasWorkerPool: false }).includes('--inline-max-n'));
  t.true(usage('fib-server-x', 'x', dispatching).includes('--inline-max-n N'));
});
