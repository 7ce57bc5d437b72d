import test from 'ava';
import { retryOnce, WorkerDiedError } from '@fib/core';
import { FibError } from '@fib/protocol';

/** A job that fails with each of `failures` in turn, then answers 42; counts its attempts. */
function job(...failures: unknown[]) {
  const state = { attempts: 0 };
  const run = () => {
    const failure = failures[state.attempts++];
    return failure === undefined ? Promise.resolve(42) : Promise.reject(failure);
  };
  return { run, state };
}

test('a job that succeeds is run once', async (t) => {
  const { run, state } = job();
  t.is(await retryOnce(run), 42);
  t.is(state.attempts, 1);
});

test('a job whose worker died is run once more', async (t) => {
  const { run, state } = job(new WorkerDiedError());
  t.is(await retryOnce(run), 42);
  t.is(state.attempts, 2);
});

test('a job whose worker died twice is answered ERR internal, with the death as its cause', async (t) => {
  const second = new WorkerDiedError('second');
  const { run, state } = job(new WorkerDiedError('first'), second);
  const error = await t.throwsAsync(retryOnce(run), { instanceOf: FibError });
  t.is(error.code, 'internal');
  t.is(error.message, 'the worker computing this request died, twice');
  t.is(error.cause, second);
  t.is(state.attempts, 2);
});

test('any other failure passes through untouched, without a retry', async (t) => {
  const busy = new FibError('busy', 'full');
  const { run, state } = job(busy);
  t.is(await t.throwsAsync(retryOnce(run)), busy);
  t.is(state.attempts, 1);
  const other = new TypeError('broken');
  const second = job(new WorkerDiedError(), other);
  t.is(await t.throwsAsync(retryOnce(second.run)), other, 'a retry that fails otherwise keeps its own error');
  t.is(second.state.attempts, 2);
});

test('a job that throws instead of rejecting is a rejection, not an exception', async (t) => {
  let attempts = 0;
  const thrown = new WorkerDiedError();
  const promise = retryOnce(() => {
    attempts++;
    if (attempts === 1) throw thrown;
    return Promise.resolve(7);
  });
  t.true(promise instanceof Promise);
  t.is(await promise, 7);
  t.is(attempts, 2);
});
