import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import type { TestFn } from 'ava';
import { fib } from '@fib/core';
import { RawClient } from './raw-client.js';
import { runBin, serverStarter } from './spawn.js';

export interface DispatchConfig {
  readonly pkg: string;
  readonly bin: string;
  /** Flags for every server the suite starts, e.g. ['--workers', '2']. */
  readonly args: readonly string[];
}

/** The heavy connection's backlog: long enough that draining it takes many turns of every worker. */
const HEAVY_JOBS = 200;
const HEAVY_N = 27;

/** A socket that counts the answer lines it has received. */
async function countingClient(port: number): Promise<{ socket: Socket; answers: () => number; first: Promise<void> }> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  let answers = 0;
  let firstSeen!: () => void;
  const first = new Promise<void>((resolve) => (firstSeen = resolve));
  socket.on('data', (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 10) answers++;
    if (answers > 0) firstSeen();
  });
  return { socket, answers: () => answers, first };
}

/**
 * What the strategies that dispatch to workers share: connections take turns
 * at the workers (order-based, not timed), and --inline-max-n.
 */
export function dispatchSuite(test: TestFn, config: DispatchConfig): void {
  const start = serverStarter(test, config.pkg, config.bin);

  test('a light connection is answered before a heavy connection backlog drains', async (t) => {
    const server = await start(config.args);
    const heavy = await countingClient(server.port);
    heavy.socket.write(`${HEAVY_N}\n`.repeat(HEAVY_JOBS));
    // The backlog has been read: the server is answering it.
    await heavy.first;
    const light = await RawClient.connect(server.port);
    t.is(await light.ask('1'), '1');
    const heavyDone = heavy.answers();
    t.true(heavyDone < HEAVY_JOBS, `the light answer came after all ${HEAVY_JOBS} heavy ones`);
    light.end();
    heavy.socket.destroy();
  });

  test('--inline-max-n answers every n, below and above it, in order', async (t) => {
    const server = await start([...config.args, '--inline-max-n', '15']);
    const ns = Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? 22 : i % 18));
    const client = await RawClient.connect(server.port);
    t.deepEqual(
      await client.pipeline(ns),
      ns.map((n) => String(fib(n))),
    );
    client.end();
  });

  test('--inline-max-n is in --help and validated', async (t) => {
    const help = runBin(config.pkg, config.bin, ['--help']);
    t.deepEqual(await help.exited, { code: 0, signal: null });
    t.regex(help.stdout(), /--inline-max-n N/);
    for (const value of ['-1', 'x', '79']) {
      const run = runBin(config.pkg, config.bin, [...config.args, '--inline-max-n', value]);
      t.deepEqual(await run.exited, { code: 2, signal: null }, value);
      t.regex(run.stderr(), /--inline-max-n must be an integer from 0 to 78/, value);
    }
  });
}
