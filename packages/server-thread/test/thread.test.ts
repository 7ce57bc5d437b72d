import test from 'ava';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fib } from '@fib/core';
import { FibClient } from '@fib/protocol';
import { RawClient, serverStarter, workerThreadSuite } from '@fib/testkit';
import { start } from '@fib/server-thread';

const startThread = serverStarter(test, '@fib/server-thread', 'fib-server-thread');

/** OS threads of a process (Linux). */
const threadCount = (pid: number | 'self' = 'self') => readdirSync(`/proc/${pid}/task`).length;

/** Polls until `check` holds, or fails after `timeoutMs` (the wait is bounded, not a timing assertion). */
async function eventually(check: () => boolean, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

test('each connection gets a thread of its own, ended when it closes', async (t) => {
  const server = await startThread();
  // One connection first, so that lazily started process-wide threads exist.
  const warm = await RawClient.connect(server.port);
  t.is(await warm.ask('1'), '1');
  // Counted while the connection is open: its thread may end as soon as it closes.
  const withWarm = threadCount(server.pid);
  warm.end();
  await warm.closed;
  t.true(await eventually(() => threadCount(server.pid) < withWarm), "the warm-up connection's thread ended");
  const before = threadCount(server.pid);
  const clients = await Promise.all(Array.from({ length: 10 }, () => RawClient.connect(server.port)));
  t.deepEqual(
    await Promise.all(clients.map((c, i) => c.ask(String(i)))),
    clients.map((_, i) => String(fib(i))),
  );
  t.true(threadCount(server.pid) >= before + 10, 'ten connections, ten more threads');
  for (const client of clients) client.end();
  t.true(await eventually(() => threadCount(server.pid) <= before), 'their threads ended with them');
});

workerThreadSuite(test, {
  pkg: '@fib/server-thread',
  bin: 'fib-server-thread',
  oneThread: [],
  diedLog: /connection thread \d+ died \(.*\); it is replaced and its requests retried once/,
});

test('connections pipelining heavy and light requests each get their answers in order', async (t) => {
  const server = await startThread();
  const ns = Array.from({ length: 30 }, (_, i) => (i % 5 === 0 ? 25 : i % 13));
  const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(server.port)));
  const answers = await Promise.all(clients.map((client) => client.pipeline(ns)));
  t.deepEqual(
    answers,
    clients.map(() => ns.map((n) => String(fib(n)))),
  );
  for (const client of clients) client.end();
});

// Serial: it counts this process's threads, so nothing else in this process may run meanwhile.
test.serial('no thread is left after close, even with connections still open', async (t) => {
  // Start the lazily created process-wide threads (libuv's pool) first.
  await Promise.all([readFile(import.meta.filename), readFile(import.meta.filename)]);
  const first = await start({ port: 0 });
  await first.close();
  const before = threadCount();
  const server = await start({ port: 0 });
  const clients = await Promise.all(Array.from({ length: 5 }, () => FibClient.connect({ port: server.address.port })));
  t.deepEqual(
    await Promise.all(clients.map((c) => c.fib(22))),
    clients.map(() => fib(22)),
  );
  t.true(threadCount() >= before + 5);
  await server.close();
  t.true(threadCount() <= before, `${threadCount()} threads after close, ${before} before start`);
  await Promise.all(clients.map((c) => c.close()));
});
