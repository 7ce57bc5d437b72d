import type { TestFn } from 'ava';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fib } from '@fib/core';
import { WORKER_FAULT_ENV } from '@fib/core/testing';
import { FibClient } from '@fib/protocol';
import { descendants, isAlive, untilOneComputes, waitGone } from './processes.js';
import { RawClient } from './raw-client.js';
import { serverStarter } from './spawn.js';
import { until } from './until.js';

const require = createRequire(import.meta.url);

export interface WorkerProcessConfig {
  /** The package under test, e.g. '@fib/server-queue'. */
  readonly pkg: string;
  readonly bin: string;
  /** Its worker-process entry file, relative to the package, e.g. 'dist/worker.js'. */
  readonly childEntry: string;
}

/**
 * What every strategy whose workers are processes owned by the server must do
 * (docs/workers.md), checked on the real bin with real signals: a worker killed
 * under load is replaced and its request retried once, then `ERR internal`; a
 * closed connection's queued jobs are dropped; no worker outlives the server,
 * whatever stops it; the worker entry refuses to run by hand.
 */
export function workerProcessSuite(test: TestFn, config: WorkerProcessConfig): void {
  const { pkg, bin } = config;
  const start = serverStarter(test, pkg, bin);

  test('a worker SIGKILLed under load is replaced, and every request is still answered correctly', async (t) => {
    const server = await start(['--workers', '2']);
    await until(() => descendants(server.pid).length === 2, 'both workers are up');
    const original = descendants(server.pid);
    const clients = await Promise.all([0, 1, 2].map(() => FibClient.connect({ port: server.port })));
    const ns = Array.from({ length: 150 }, (_, i) => 18 + (i % 8));
    let answered = 0;
    const loads = clients.map(async (client) => {
      const results: number[] = [];
      for (const n of ns) {
        results.push(await client.fib(n));
        answered++;
      }
      return results;
    });
    await until(() => answered >= 20, 'the load is flowing');
    // One kill only: a second one could hit the worker that holds the first's retry.
    process.kill(original[0]!, 'SIGKILL');
    await until(() => {
      const now = descendants(server.pid);
      return now.length === 2 && now.some((pid) => !original.includes(pid));
    }, 'a replacement worker is up');
    const expected = ns.map(fib);
    for (const results of await Promise.all(loads)) t.deepEqual(results, expected);
    t.false(isAlive(original[0]!));
    t.true(isAlive(original[1]!), 'the other worker was left alone');
    await Promise.all(clients.map((client) => client.close()));
  });

  test('an idle worker SIGKILLed is replaced, and the server goes on', async (t) => {
    const server = await start(['--workers', '2']);
    await until(() => descendants(server.pid).length === 2, 'both workers are up');
    const [victim, survivor] = descendants(server.pid);
    process.kill(victim!, 'SIGKILL');
    await until(() => {
      const now = descendants(server.pid);
      return now.length === 2 && !now.includes(victim!);
    }, 'a replacement worker is up');
    t.true(isAlive(server.pid));
    t.true(descendants(server.pid).includes(survivor!));
    const client = await RawClient.connect(server.port);
    t.is(await client.ask('25'), '75025');
    await client.write('20\n21\n');
    t.deepEqual(await client.lines(2), ['6765', '10946']);
    client.end();
  });

  test('a request whose worker dies once is retried and answered', async (t) => {
    // Test-only fault injection: the first job for fib(14) makes its worker exit.
    const server = await start(['--workers', '2'], { [WORKER_FAULT_ENV]: 'exit:14:1' });
    const client = await RawClient.connect(server.port);
    t.is(await client.ask('14'), '377');
    t.is(await client.ask('15'), '610');
    await until(() => descendants(server.pid).length === 2, 'the dead worker is replaced');
    client.end();
  });

  test('a request whose worker dies twice is answered ERR internal; the connection and the others go on', async (t) => {
    const server = await start(['--workers', '2'], { [WORKER_FAULT_ENV]: 'exit:13' });
    const client = await RawClient.connect(server.port);
    const other = await RawClient.connect(server.port);
    await client.write('12\n13\n11\n');
    t.deepEqual(await client.lines(2), ['144', 'ERR internal the worker computing this request died, twice']);
    t.is(await client.line(), '89');
    t.is(await other.ask('20'), '6765');
    await until(() => descendants(server.pid).length === 2, 'the dead workers are replaced');
    t.is(await client.ask('10'), '55');
    client.end();
    other.end();
  });

  test('the jobs a closed connection had queued are dropped, not computed', async (t) => {
    // With one worker busy on fib(40), fib(7) waits in the queue; were it ever
    // sent to the worker, the armed fault would kill that worker.
    const server = await start(['--workers', '1'], { [WORKER_FAULT_ENV]: 'exit:7' });
    await until(() => descendants(server.pid).length === 1, 'the worker is up');
    const [worker] = descendants(server.pid);
    const leaver = await RawClient.connect(server.port);
    await leaver.write('40\n7\n');
    leaver.end();
    await leaver.closed;
    const stayer = await RawClient.connect(server.port);
    t.is(await stayer.ask('1'), '1', 'answered after fib(40), by the same worker');
    t.deepEqual(descendants(server.pid), [worker]);
    t.notRegex(server.stderr(), /died/);

    // The control: the same requests from a client that stays get the fault.
    await stayer.write('20\n7\n');
    t.deepEqual(await stayer.lines(2), ['6765', 'ERR internal the worker computing this request died, twice']);
    stayer.end();
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal}: the server drains, exits 0, and no worker outlives it`, async (t) => {
      const server = await start(['--workers', '2']);
      await until(() => descendants(server.pid).length === 2, 'both workers are up');
      const workers = descendants(server.pid);
      const client = await RawClient.connect(server.port);
      await client.write('38\n');
      await untilOneComputes(workers);
      const exit = server.stop(signal);
      t.is(await client.line(), '39088169', 'the request received before the signal is answered');
      t.deepEqual(await exit, { code: 0, signal: null });
      await waitGone(workers);
      t.pass();
    });
  }

  test('SIGTERM with a job longer than --shutdown-timeout: exit 1, and the busy worker is killed too', async (t) => {
    const server = await start(['--workers', '2', '--max-n', '60', '--shutdown-timeout', '1']);
    await until(() => descendants(server.pid).length === 2, 'both workers are up');
    const workers = descendants(server.pid);
    const client = await RawClient.connect(server.port);
    // fib(55) runs for hours: only a kill ends it.
    await client.write('55\n');
    await untilOneComputes(workers);
    t.deepEqual(await server.stop('SIGTERM'), { code: 1, signal: null });
    await waitGone(workers);
    client.destroy();
    t.pass();
  });

  test('SIGKILL of the server: its workers notice and exit, even one busy computing', async (t) => {
    const server = await start(['--workers', '2', '--max-n', '60']);
    await until(() => descendants(server.pid).length === 2, 'both workers are up');
    const workers = descendants(server.pid);
    const client = await RawClient.connect(server.port);
    await client.write('55\n');
    await untilOneComputes(workers);
    t.deepEqual(await server.stop('SIGKILL'), { code: null, signal: 'SIGKILL' });
    await waitGone(workers);
    client.destroy();
    t.pass();
  });

  test('the worker entry refuses to run without an IPC channel', (t) => {
    const file = join(dirname(require.resolve(`${pkg}/package.json`)), config.childEntry);
    const run = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
    t.is(run.status, 2);
    t.regex(run.stderr, /worker process entry/);
  });
}
