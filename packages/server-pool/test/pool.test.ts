import test from 'ava';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fib, resolveOptions } from '@fib/core';
import { FibClient } from '@fib/protocol';
import { RawClient, serverStarter, workerThreadSuite } from '@fib/testkit';
import { start, strategy } from '@fib/server-pool';

const startPool = serverStarter(test, '@fib/server-pool', 'fib-server-pool');

/** OS threads of this process (Linux). */
const threadCount = () => readdirSync('/proc/self/task').length;

workerThreadSuite(test, {
  pkg: '@fib/server-pool',
  bin: 'fib-server-pool',
  args: ['--workers', '2'],
  oneThread: ['--workers', '1'],
  diedLog: /a pool thread died/,
});

test('pipelined requests of one connection run on several threads and are answered in order', async (t) => {
  const server = await startPool(['--workers', '2']);
  const ns = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? 24 + (i % 4) : i % 11));
  const client = await RawClient.connect(server.port);
  t.deepEqual(
    await client.pipeline(ns),
    ns.map((n) => String(fib(n))),
  );
  client.end();
});

// Serial: the in-process tests count this process's threads, so they must not overlap.
test.serial('a connection that goes away cancels its queued jobs', async (t) => {
  const options = resolveOptions({ workers: 1 }, strategy);
  const engine = await strategy.create(options, { report: () => {}, fail: () => {}, metrics: null });
  try {
    const session = engine.open!();
    // About a second of work for the single thread if nothing were cancelled.
    const jobs = Array.from({ length: 40 }, () => session.compute(30));
    // Jobs go to the threads at the end of the event loop's turn (those of one read share batches).
    await new Promise((resolve) => setImmediate(resolve));
    session.close();
    const settled = await Promise.allSettled(jobs);
    // The job the thread holds finishes (ending a thread costs more than fib(30));
    // the 39 that waited were dropped without reaching a thread.
    t.deepEqual(settled[0], { status: 'fulfilled', value: fib(30) });
    t.deepEqual(
      settled.slice(1).map((s) => s.status === 'rejected' && (s.reason as Error).name),
      jobs.slice(1).map(() => 'ConnectionClosedError'),
      'every waiting job of the closed connection was dropped',
    );
    const next = engine.open!();
    t.is(await next.compute(20), fib(20));
    next.close();
  } finally {
    await engine.close();
  }
});

test.serial('no thread is left after close', async (t) => {
  // Start the lazily created process-wide threads (libuv's pool) first.
  await Promise.all([readFile(import.meta.filename), readFile(import.meta.filename)]);
  const first = await start({ port: 0, workers: 2 });
  await first.close();
  const before = threadCount();
  const server = await start({ port: 0, workers: 3 });
  t.true(threadCount() >= before + 3, 'the pool started its threads');
  const client = await FibClient.connect({ port: server.address.port });
  t.deepEqual(await Promise.all([client.fib(25), client.fib(24), client.fib(1)]), [fib(25), fib(24), 1]);
  // Closed with the client still connected: the shutdown ends its connection.
  await server.close();
  t.true(threadCount() <= before, `${threadCount()} threads after close, ${before} before start`);
  await client.close();
});
