import type { TestFn } from 'ava';
import { RawClient } from './raw-client.js';
import { metricsUrl, sample, scrape } from './metrics.js';
import { serverStarter } from './spawn.js';
import { until } from './until.js';

export interface OperationsConfig {
  readonly pkg: string;
  readonly bin: string;
  /** Flags given to every server the suite starts (e.g. ['--workers', '2']). */
  readonly args?: readonly string[];
  /** The strategy's name, as its JSON log records carry it. */
  readonly strategy: string;
  /** Workers it runs (--workers), reported as fib_workers; undefined: it exports no fib_workers. */
  readonly workers?: number;
  /** It has a job queue: fib_queue_wait_seconds is exported. */
  readonly queue?: boolean;
}

/** Separate connections, so that a strategy that spreads connections over workers uses several. */
const CLIENTS = 4;
/** What each client sends, and what that counts. */
const REQUESTS = '1\n2\nx\n99\n25\n';
const PER_CLIENT = { ok: 3, bad_request: 1, out_of_range: 1 };

/**
 * What an operator relies on (docs/operations.md), checked against the real
 * bin: the metrics endpoint and its counts, JSON logs, and a SIGHUP that does
 * not stop the server.
 */
export function operationsSuite(test: TestFn, config: OperationsConfig): void {
  const base = config.args ?? [];
  const startServer = serverStarter(test, config.pkg, config.bin);
  const start = (args: readonly string[] = []) => startServer([...base, ...args]);

  test('metrics: counts per code, the duration histogram, and the gauges', async (t) => {
    const server = await start(['--metrics-port', '0']);
    const url = await metricsUrl(server);
    t.regex(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => RawClient.connect(server.port)));
    for (const client of clients) {
      await client.write(REQUESTS);
      t.deepEqual(await client.lines(5), [
        '1',
        '1',
        'ERR bad_request expected a non-negative decimal integer',
        'ERR out_of_range n must be at most 40',
        '75025',
      ]);
    }
    const text = await scrape(url);
    const total = CLIENTS * (PER_CLIENT.ok + PER_CLIENT.bad_request + PER_CLIENT.out_of_range);
    t.is(sample(text, 'fib_requests_total{code="ok"}'), CLIENTS * PER_CLIENT.ok);
    t.is(sample(text, 'fib_requests_total{code="bad_request"}'), CLIENTS * PER_CLIENT.bad_request);
    t.is(sample(text, 'fib_requests_total{code="out_of_range"}'), CLIENTS * PER_CLIENT.out_of_range);
    for (const code of ['line_too_long', 'busy', 'internal', 'shutting_down']) {
      t.is(sample(text, `fib_requests_total{code="${code}"}`), 0, code);
    }
    t.is(sample(text, 'fib_request_duration_seconds_count'), total);
    t.is(sample(text, 'fib_request_duration_seconds_bucket{le="+Inf"}'), total);
    t.true(sample(text, 'fib_request_duration_seconds_sum')! > 0);
    t.is(sample(text, 'fib_request_duration_seconds_bucket{le="0.00001"}') !== undefined, true);
    t.is(sample(text, 'fib_request_duration_seconds_bucket{le="30"}') !== undefined, true);
    t.is(sample(text, 'fib_connections_open'), CLIENTS);
    t.is(sample(text, 'fib_jobs_pending'), 0);
    t.not(sample(text, 'process_cpu_user_seconds_total'), undefined);
    if (config.workers === undefined) t.is(sample(text, 'fib_workers'), undefined);
    else t.is(sample(text, 'fib_workers'), config.workers);
    if (config.queue === true) t.true(sample(text, 'fib_queue_wait_seconds_count')! >= 1);
    for (const client of clients) client.end();
    t.is((await server.stop()).code, 0);
  });

  test('without --metrics-port there is no endpoint and no metrics line', async (t) => {
    const server = await start();
    const client = await RawClient.connect(server.port);
    t.is(await client.ask('3'), '2');
    client.end();
    t.notRegex(server.stdout(), /metrics on/);
    t.is((await server.stop()).code, 0);
  });

  test('--log-format json: every stderr line is a pino record; debug adds connection lines with counts', async (t) => {
    const server = await start(['--log-format', 'json', '--log-level', 'debug']);
    const client = await RawClient.connect(server.port);
    await client.write('1\nx\n');
    await client.lines(2);
    client.end();
    await until(() => /closed after/.test(server.stderr()), 'the connection is logged as closed');
    t.is((await server.stop()).code, 0);
    const records = server
      .stderr()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const record of records) {
      t.is(typeof record.level, 'number');
      t.is(typeof record.time, 'number');
      t.is(typeof record.msg, 'string');
      t.is(typeof record.pid, 'number');
      t.is(record.strategy, config.strategy);
    }
    const closed = records.find((r) => typeof r.msg === 'string' && r.msg.includes('closed after'));
    t.like(closed, { level: 20, requests: 2, errors: 1 });
    t.true(records.some((r) => typeof r.msg === 'string' && r.msg.includes('SIGTERM')));
  });

  test('text logs at the default level: no connection lines', async (t) => {
    const server = await start();
    const client = await RawClient.connect(server.port);
    t.is(await client.ask('1'), '1');
    client.end();
    await client.closed;
    t.is((await server.stop()).code, 0);
    t.notRegex(server.stderr(), /opened|closed after/);
  });

  test('SIGHUP never stops the server', async (t) => {
    const server = await start();
    const client = await RawClient.connect(server.port);
    t.is(await client.ask('10'), '55');
    server.child.kill('SIGHUP');
    await until(() => /SIGHUP/.test(server.stderr()), 'the server says it got SIGHUP');
    // An open connection goes on across the reload, wherever it lives (cluster moves it).
    t.is(await client.ask('11'), '89');
    const late = await RawClient.connect(server.port);
    t.is(await late.ask('12'), '144');
    client.end();
    late.end();
    t.is((await server.stop()).code, 0);
  });
}
