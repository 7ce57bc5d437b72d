import type { TestFn } from 'ava';
import { FibClient, FibError } from '@fib/protocol';
import { fib } from '@fib/core';
import { RawClient, sendWithinIdleWindow } from './raw-client.js';
import { descendants, untilOneComputes, waitGone } from './processes.js';
import { runBin, serverStarter, type ServerRun } from './spawn.js';

export interface ConformanceConfig {
  /** The package under test, e.g. '@fib/server-async'. */
  readonly pkg: string;
  /** Its bin, e.g. 'fib-server-async'. */
  readonly bin: string;
  /** Flags given to every server the suite starts (e.g. ['--workers', '2']). */
  readonly args?: readonly string[];
  /** Whether the strategy accepts --workers. */
  readonly hasWorkerPool: boolean;
  /** The fewest --workers accepted: 1, or 0 where a server can run without local workers (nats). */
  readonly minWorkers?: 0 | 1;
}

interface StartApi {
  start(
    options?: Record<string, unknown>,
  ): Promise<{ address: { host: string; port: number }; close(): Promise<void> }>;
}

const answer = (n: number) => String(fib(n));

/**
 * The behaviour docs/protocol.md, cli.md and api.md require of every strategy, checked
 * against the real bin over loopback TCP. Each strategy package runs it from
 * its own `test/conformance.test.ts`.
 */
export function conformance(test: TestFn, config: ConformanceConfig): void {
  const { pkg, bin, hasWorkerPool } = config;
  const base = config.args ?? [];
  const startServer = serverStarter(test, pkg, bin);
  const start = (args: readonly string[] = []) => startServer([...base, ...args]);
  let shared: ServerRun;

  test.before(async () => {
    shared = await start();
  });

  test('serves the original client: "30" without a newline, then "1"', async (t) => {
    const client = await RawClient.connect(shared.port);
    for (let i = 0; i < 3; i++) {
      await client.write('30');
      t.is(await client.line(), '832040');
    }
    await client.write('1');
    t.is(await client.line(), '1');
    client.end();
  });

  test('answers pipelined requests in request order, heavy ones first', async (t) => {
    const client = await RawClient.connect(shared.port);
    const ns = [27, 1, 0, 25, 2, 3, 26, 10, 20, 5, 1, 24, 7];
    t.deepEqual(await client.pipeline(ns), ns.map(answer));
    client.end();
  });

  test('joins a request split across writes once the connection is line-framed', async (t) => {
    const client = await RawClient.connect(shared.port);
    t.is(await client.ask('1'), '1');
    await client.write('2');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.write('5\n1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.write('0\n');
    t.deepEqual(await client.lines(2), [answer(25), answer(10)]);
    client.end();
  });

  test('accepts spaces, tabs, \\r\\n and blank lines', async (t) => {
    const client = await RawClient.connect(shared.port);
    await client.write('  7 \t\r\n\n\r\n \t \n\t8\n0\n');
    t.deepEqual(await client.lines(3), ['13', '21', '0']);
    client.end();
  });

  test('answers bad_request and out_of_range and keeps the connection usable', async (t) => {
    const client = await RawClient.connect(shared.port);
    for (const bad of ['abc', '-1', '1.5', '+3', '3 4', '0x10', '١']) {
      t.regex((await client.ask(bad))!, /^ERR bad_request \S/, bad);
    }
    t.regex((await client.ask('41'))!, /^ERR out_of_range .*40/);
    t.regex((await client.ask('99999999999999999999999999'))!, /^ERR out_of_range /);
    t.is(await client.ask('12'), '144');
    client.end();
  });

  test('refuses n above --max-n at once, even while another request is computing', async (t) => {
    const server = await start(['--max-n', '20']);
    const client = await RawClient.connect(server.port);
    await client.write('20\n21\n78\n3\n');
    t.deepEqual(await client.lines(4), [
      answer(20),
      'ERR out_of_range n must be at most 20',
      'ERR out_of_range n must be at most 20',
      '2',
    ]);
    client.end();
  });

  test('answers line_too_long and closes the connection', async (t) => {
    const server = await start(['--max-line', '16']);
    const client = await RawClient.connect(server.port);
    t.is(await client.ask('3'), '2');
    await client.write(`${'1'.repeat(17)}`);
    t.regex((await client.line())!, /^ERR line_too_long /);
    await client.closed;
    t.is(await client.line(), null);
    // A long line split across writes counts too; so does a first read without \n.
    const other = await RawClient.connect(server.port);
    await other.write(' '.repeat(40));
    t.regex((await other.line())!, /^ERR line_too_long /);
    await other.closed;
    // Other connections are unaffected.
    const third = await RawClient.connect(server.port);
    t.is(await third.ask('10'), '55');
    third.end();
  });

  test('answers busy beyond --max-connections and closes that connection', async (t) => {
    const server = await start(['--max-connections', '2']);
    const first = await RawClient.connect(server.port);
    const second = await RawClient.connect(server.port);
    t.is(await first.ask('5'), '5');
    const third = await RawClient.connect(server.port);
    t.regex((await third.line())!, /^ERR busy /);
    await third.closed;
    first.end();
    second.end();
    await Promise.all([first.closed, second.closed]);
    // Slots are free again once connections close.
    let fourth: RawClient | undefined;
    for (let attempt = 0; attempt < 50 && fourth === undefined; attempt++) {
      const candidate = await RawClient.connect(server.port);
      await candidate.write('6\n');
      const line = await candidate.line();
      if (line === '8') fourth = candidate;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.truthy(fourth, 'a connection is admitted after others closed');
    fourth?.end();
  });

  test('closes a connection idle for --idle-timeout seconds', async (t) => {
    // Seconds, not a fraction: the window opens when the server accepts, and a
    // test process starved of CPU on a loaded 2-core machine has been seen to
    // send its first byte most of a second after connecting (and, once, more
    // than three: sendWithinIdleWindow then connects again).
    const server = await start(['--idle-timeout', '3']);
    const { client, answers } = await sendWithinIdleWindow(server.port, 3000, '4\n', 1);
    t.deepEqual(answers, ['3']);
    await client.closed;
  });

  test('survives clients that disconnect mid-request and mid-line', async (t) => {
    for (const data of ['35\n', '3', '1\n2\n3', '30\n30\n30\n']) {
      const client = await RawClient.connect(shared.port);
      await client.write(data);
      client.destroy();
    }
    const client = await RawClient.connect(shared.port);
    t.is(await client.ask('20'), answer(20));
    client.end();
  });

  test('the jobs of a connection that went away stop counting against --max-queue', async (t) => {
    const server = await start(['--max-queue', '4']);
    const leaver = await RawClient.connect(server.port);
    await leaver.write('35\n35\n35\n35\n');
    leaver.destroy();
    const client = await RawClient.connect(server.port);
    // Busy only until the server has seen the close (bounded wait): the jobs must not stay counted.
    let answer = await client.ask('10');
    for (let i = 0; i < 100 && answer?.startsWith('ERR busy'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      answer = await client.ask('10');
    }
    t.is(answer, '55');
    client.end();
  });

  test('serves hundreds of concurrent connections', async (t) => {
    const count = 300;
    const clients = await Promise.all(Array.from({ length: count }, () => FibClient.connect({ port: shared.port })));
    // Each client leaves once answered, so that the sequential strategy gets to the next one.
    const results = await Promise.all(
      clients.map(async (client, i) => {
        const values = await Promise.all([client.fib(i % 20), client.fib(1)]);
        await client.close();
        return values;
      }),
    );
    t.deepEqual(
      results,
      clients.map((_, i) => [fib(i % 20), 1]),
    );
  });

  test('on SIGTERM answers the request in flight, then exits 0 and leaves no process behind', async (t) => {
    const server = await start();
    const client = await RawClient.connect(server.port);
    t.is(await client.ask('1'), '1');
    // fib(38) computes for about a second: the signal lands once it has begun.
    await client.write('38\n');
    const children = descendants(server.pid);
    await untilOneComputes([server.pid, ...children], 'the server computes fib(38)');
    const exit = server.stop('SIGTERM');
    t.is(await client.line(), answer(38));
    t.deepEqual(await exit, { code: 0, signal: null });
    await client.closed;
    await waitGone(children);
    // The port is closed: nothing listens any more.
    await t.throwsAsync(RawClient.connect(server.port));
  });

  test('SIGTERM to the whole process group (as systemd sends it): the request in flight is answered, exit 0', async (t) => {
    const server = await startServer(base, undefined, { detached: true });
    const client = await RawClient.connect(server.port);
    t.is(await client.ask('1'), '1');
    // fib(38) computes for about a second: the signal lands once it has begun.
    await client.write('38\n');
    const children = descendants(server.pid);
    await untilOneComputes([server.pid, ...children], 'the server computes fib(38)');
    const exit = server.stop('SIGTERM');
    t.is(await client.line(), answer(38));
    t.deepEqual(await exit, { code: 0, signal: null }, server.stderr());
    await waitGone(children);
    // A normal stop: the children ending with the server is not reported as a failure.
    t.notRegex(server.stderr(), /fail|died|unexpected|error/i);
  });

  test('on SIGINT exits 0 too', async (t) => {
    const server = await start();
    const client = await FibClient.connect({ port: server.port });
    t.is(await client.fib(15), 610);
    const children = descendants(server.pid);
    t.deepEqual(await server.stop('SIGINT'), { code: 0, signal: null });
    await waitGone(children);
  });

  test('library API: start, address, close', async (t) => {
    const api = (await import(pkg)) as StartApi;
    const server = await api.start({ port: 0, ...(hasWorkerPool ? { workers: 2 } : {}) });
    t.is(server.address.host, '127.0.0.1');
    t.true(server.address.port > 0);
    const client = await FibClient.connect({ port: server.address.port });
    t.deepEqual(await Promise.all([client.fib(25), client.fib(0), client.fib(41).catch((e: unknown) => e)]), [
      75025,
      0,
      new FibError('out_of_range', 'n must be at most 40'),
    ]);
    await client.close();
    await server.close();
    await t.throwsAsync(FibClient.connect({ port: server.address.port }));
  });

  test('library API: rejects wrong options with clear errors', async (t) => {
    const api = (await import(pkg)) as StartApi;
    await t.throwsAsync(api.start({ port: 0, maxN: '30' }), { instanceOf: TypeError, message: /options\.maxN/ });
    await t.throwsAsync(api.start({ port: 0, maxN: 79 }), {
      instanceOf: RangeError,
      message: /options\.maxN must be an integer from 0 to 78/,
    });
    await t.throwsAsync(api.start({ port: 0, maxLinez: 5 }), {
      instanceOf: TypeError,
      message: /options\.maxLinez is not a known option/,
    });
    await t.throwsAsync(api.start({ port: -1 }), { instanceOf: RangeError, message: /options\.port/ });
    if (!hasWorkerPool) {
      await t.throwsAsync(api.start({ port: 0, workers: 2 }), { message: /options\.workers does not apply/ });
    }
  });

  test('CLI: --help, --version, and exit code 2 with a clear message for bad flags', async (t) => {
    const help = runBin(pkg, bin, ['--help']);
    t.deepEqual(await help.exited, { code: 0, signal: null });
    t.regex(help.stdout(), new RegExp(`Usage: ${bin}`));
    t.is(help.stdout().includes('--workers'), hasWorkerPool);

    const version = runBin(pkg, bin, ['--version']);
    t.deepEqual(await version.exited, { code: 0, signal: null });
    t.regex(version.stdout(), /^\d+\.\d+\.\d+/);

    const cases: [string[], RegExp][] = [
      [['--bogus'], /unknown option --bogus/],
      [['--port'], /--port needs a value/],
      [['--port', 'abc'], /--port must be an integer from 0 to 65535 \(got "abc"\)/],
      [['--max-n', '79'], /--max-n must be an integer from 0 to 78 \(got 79\)/],
      [['--max-line', '1.5'], /--max-line must be an integer/],
      [['--idle-timeout', '-1'], /--idle-timeout must be a number of seconds/],
      [['stray'], /unexpected argument "stray"/],
    ];
    if (!hasWorkerPool) cases.push([['--workers', '2'], /--workers does not apply/]);
    else {
      const min = config.minWorkers ?? 1;
      cases.push([['--workers', String(min - 1)], new RegExp(`--workers must be an integer from ${min}`)]);
    }
    for (const [args, message] of cases) {
      const run = runBin(pkg, bin, args);
      t.deepEqual(await run.exited, { code: 2, signal: null }, args.join(' '));
      t.regex(run.stderr(), message, args.join(' '));
      t.regex(run.stderr(), /Usage:/);
      t.is(run.stdout(), '');
    }
  });

  test('CLI: a port in use is a one-line error, exit 1', async (t) => {
    const run = runBin(pkg, bin, [...base, '--port', String(shared.port)]);
    t.deepEqual(await run.exited, { code: 1, signal: null });
    t.regex(run.stderr(), /cannot listen on 127\.0\.0\.1:\d+: address already in use/);
  });
}
