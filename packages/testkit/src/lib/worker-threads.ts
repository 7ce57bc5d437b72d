import type { TestFn } from 'ava';
import { fib } from '@fib/core';
import { WORKER_FAULT_ENV } from '@fib/core/testing';
import { FibClient } from '@fib/protocol';
import { RawClient, sendWithinIdleWindow } from './raw-client.js';
import { serverStarter } from './spawn.js';

export interface WorkerThreadConfig {
  /** The package under test, e.g. '@fib/server-pool'. */
  readonly pkg: string;
  readonly bin: string;
  /** Flags given to every server the suite starts (e.g. ['--workers', '2']). */
  readonly args?: readonly string[];
  /**
   * Flags, in place of `args`, under which one thread computes a connection's
   * requests, so that a retry can only be answered by the dead thread's
   * replacement: ['--workers', '1'] for a pool, none for a thread per connection.
   */
  readonly oneThread: readonly string[];
  /** What the server logs on stderr when one of its threads dies. */
  readonly diedLog: RegExp;
}

const DIED_TWICE = 'ERR internal the worker computing this request died, twice';

/**
 * What every strategy that computes on worker threads must do
 * (docs/workers.md), checked on the real bin: a thread that dies (it exits, throws, or runs
 * out of heap; the test-only fault hook `FIB_TEST_WORKER_FAULT` makes it) is
 * replaced and its request retried once, then answered `ERR internal`, while
 * the requests around it and the other connections are answered as usual.
 */
export function workerThreadSuite(test: TestFn, config: WorkerThreadConfig): void {
  const { pkg, bin, diedLog } = config;
  const base = config.args ?? [];
  const start = serverStarter(test, pkg, bin);

  for (const kind of ['exit', 'throw', 'oom'] as const) {
    test(`a thread that dies (${kind}) is replaced and its request retried once`, async (t) => {
      // The first fib(13) kills its thread, once.
      const server = await start(config.oneThread, { [WORKER_FAULT_ENV]: `${kind}:13:1` });
      const client = await RawClient.connect(server.port);
      // The requests queued behind the fatal one are answered too, in order.
      await client.write('13\n5\n6\n');
      t.deepEqual(await client.lines(3), ['233', '5', '8']);
      t.is(await client.ask('13'), '233', 'the fault was used up: the next one is computed as usual');
      t.is(await client.ask('20'), '6765');
      client.end();
      t.regex(server.stderr(), diedLog);
      t.deepEqual(await server.stop(), { code: 0, signal: null });
    });

    test(`a request whose retry dies too (${kind}) gets ERR internal; the server goes on`, async (t) => {
      // Every fib(13) kills its thread.
      const server = await start(base, { [WORKER_FAULT_ENV]: `${kind}:13` });
      const client = await RawClient.connect(server.port);
      // Pipelined: the requests around the fatal ones are answered as usual, in order.
      await client.write('13\n12\n13\n5\n');
      t.deepEqual(await client.lines(4), [DIED_TWICE, '144', DIED_TWICE, '5']);
      t.is(await client.ask('20'), '6765', 'the connection goes on');
      const other = await FibClient.connect({ port: server.port });
      t.deepEqual(await Promise.all([other.fib(22), other.fib(23)]), [fib(22), fib(23)], 'so do the others');
      await other.close();
      client.end();
      t.deepEqual(await server.stop(), { code: 0, signal: null });
    });
  }

  test('an idle timeout that falls while a request computes still closes the connection after the answer', async (t) => {
    // Four fib(39) one after the other on one thread take over 2 s here,
    // twice the timeout. The timeout is a whole second, not a fraction, and
    // sendWithinIdleWindow connects again if this process itself stalled
    // past it before its request went out.
    const server = await start([...config.oneThread, '--idle-timeout', '1']);
    const { client, answers } = await sendWithinIdleWindow(server.port, 1000, '39\n39\n39\n39\n', 4);
    t.deepEqual(
      answers,
      Array.from({ length: 4 }, () => String(fib(39))),
    );
    const closed = await Promise.race([
      client.closed.then(() => true),
      new Promise((r) => setTimeout(r, 15_000, false)),
    ]);
    t.true(closed, 'the connection was closed once idle');
  });
}
