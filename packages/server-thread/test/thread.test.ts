import test from 'ava';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fib, WORKER_FAULT_ENV } from '@fib/core';
import { FibClient } from '@fib/protocol';
import { killIfRunning, RawClient, startBin, type ServerRun } from '@fib/testkit';
import { start } from '@fib/server-thread';

const servers: ServerRun[] = [];
test.after.always(() => Promise.all(servers.map(killIfRunning)));

async function startThread(args: string[] = [], env?: NodeJS.ProcessEnv): Promise<ServerRun> {
  const server = await startBin('@fib/server-thread', 'fib-server-thread', args, env);
  servers.push(server);
  return server;
}

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
  t.true(await eventually(() => threadCount(server.pid) < withWarm), 'the warm-up connection\'s thread ended');
  const before = threadCount(server.pid);
  const clients = await Promise.all(Array.from({ length: 10 }, () => RawClient.connect(server.port)));
  t.deepEqual(await Promise.all(clients.map((c, i) => c.ask(String(i)))), clients.map((_, i) => String(fib(i))));
  t.true(threadCount(server.pid) >= before + 10, 'ten connections, ten more threads');
  for (const client of clients) client.end();
  t.true(await eventually(() => threadCount(server.pid) <= before), 'their threads ended with them');
});

for (const kind of ['exit', 'throw', 'oom'] as const) {
  test(`a thread that dies (${kind}) is replaced and its request retried once`, async (t) => {
    const server = await startThread([], { [WORKER_FAULT_ENV]: `${kind}:13:1` });
    const client = await RawClient.connect(server.port);
    // The jobs queued behind the fatal one never ran: they are not retries.
    await client.write('13\n5\n6\n');
    t.deepEqual(await client.lines(3), ['233', '5', '8']);
    t.is(await client.ask('13'), '233');
    client.end();
    t.regex(server.stderr(), /a connection's thread died/);
    t.deepEqual(await server.stop(), { code: 0, signal: null });
  });

  test(`a request whose retry dies too (${kind}) gets ERR internal; the connection goes on`, async (t) => {
    const server = await startThread([], { [WORKER_FAULT_ENV]: `${kind}:13` });
    const client = await RawClient.connect(server.port);
    await client.write('13\n12\n13\n5\n');
    t.deepEqual(await client.lines(4), [
      'ERR internal the worker computing this request died, twice',
      '144',
      'ERR internal the worker computing this request died, twice',
      '5',
    ]);
    t.is(await client.ask('20'), '6765');
    client.end();
    t.deepEqual(await server.stop(), { code: 0, signal: null });
  });
}

test('connections pipelining heavy and light requests each get their answers in order', async (t) => {
  const server = await startThread();
  const ns = Array.from({ length: 30 }, (_, i) => (i % 5 === 0 ? 25 : i % 13));
  const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(server.port)));
  const answers = await Promise.all(clients.map(async (client) => {
    await client.write(ns.map((n) => `${n}\n`).join(''));
    return client.lines(ns.length);
  }));
  t.deepEqual(answers, clients.map(() => ns.map((n) => String(fib(n)))));
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
  t.deepEqual(await Promise.all(clients.map((c) => c.fib(22))), clients.map(() => fib(22)));
  t.true(threadCount() >= before + 5);
  await server.close();
  t.true(threadCount() <= before, `${threadCount()} threads after close, ${before} before start`);
  await Promise.all(clients.map((c) => c.close()));
});

test('an idle timeout that falls while a request computes still closes the connection after the answer', async (t) => {
  // fib(35) takes longer than 0.1 s here: the timeout fires while the answer is pending.
  const server = await startThread(['--idle-timeout', '0.1']);
  const client = await RawClient.connect(server.port);
  t.is(await client.ask('35'), String(fib(35)));
  const closed = await Promise.race([client.closed.then(() => true), new Promise((r) => setTimeout(r, 15_000, false))]);
  t.true(closed, 'the connection was closed once idle');
});
