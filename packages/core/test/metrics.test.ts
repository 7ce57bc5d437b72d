import test from 'ava';
import { request } from 'node:http';
import {
  HistogramData,
  LATENCY_BUCKETS,
  REQUEST_CODES,
  RequestStats,
  ServerMetrics,
  codeIndex,
  serveMetrics,
} from '@fib/core';

/** The value of one sample line (`name{labels} value`) in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

function get(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('latency buckets run from 10 µs to 30 s, increasing', (t) => {
  t.is(LATENCY_BUCKETS[0], 0.00001);
  t.is(LATENCY_BUCKETS.at(-1), 30);
  for (let i = 1; i < LATENCY_BUCKETS.length; i++) t.true(LATENCY_BUCKETS[i]! > LATENCY_BUCKETS[i - 1]!);
});

test('a histogram puts each value in the first bucket whose bound is not below it', (t) => {
  const h = new HistogramData([1, 2, 4]);
  h.observe(0.5);
  h.observe(1);
  h.observe(1.5, 3);
  h.observe(100);
  t.deepEqual(Array.from(h.counts), [2, 3, 0, 1]);
  t.is(h.count, 6);
  t.is(h.sum, 0.5 + 1 + 4.5 + 100);
});

test('stats snapshots merge, and a snapshot of another shape is refused', (t) => {
  const a = new RequestStats();
  const b = new RequestStats();
  a.codes[codeIndex('ok')]! += 5;
  b.codes[codeIndex('busy')]! += 2;
  b.duration.observe(0.001, 4);
  b.queueWait.observe(0.5);
  a.merge(JSON.parse(JSON.stringify(b.snapshot())));
  t.is(a.codes[codeIndex('ok')], 5);
  t.is(a.codes[codeIndex('busy')], 2);
  t.is(a.duration.count, 4);
  t.is(a.queueWait.count, 1);
  t.throws(() => a.merge({ ...b.snapshot(), codes: [1] }), { instanceOf: RangeError });
});

test('the exposition has every code, the histogram with cumulative buckets, the gauges and process metrics', async (t) => {
  const metrics = new ServerMetrics();
  const { stats } = metrics;
  const queueWait = metrics.trackQueue();
  metrics.trackWorkers(() => 2);
  stats.codes[codeIndex('ok')]! += 7;
  stats.codes[codeIndex('out_of_range')]! += 1;
  stats.duration.observe(0.00002, 2);
  stats.duration.observe(0.3);
  queueWait.observe(0.002);
  metrics.track({ connectionsOpen: () => 3, jobsPending: () => 4 });
  metrics.workerRestarted();
  const text = await metrics.text();
  for (const code of REQUEST_CODES) t.not(sample(text, `fib_requests_total{code="${code}"}`), undefined, code);
  // Every series in one comparison, so that a failure shows them all.
  const expected: Record<string, number> = {
    'fib_requests_total{code="ok"}': 7,
    'fib_requests_total{code="out_of_range"}': 1,
    'fib_request_duration_seconds_bucket{le="0.00001"}': 0,
    'fib_request_duration_seconds_bucket{le="0.000025"}': 2,
    'fib_request_duration_seconds_bucket{le="0.25"}': 2,
    'fib_request_duration_seconds_bucket{le="0.5"}': 3,
    'fib_request_duration_seconds_bucket{le="+Inf"}': 3,
    fib_request_duration_seconds_count: 3,
    fib_queue_wait_seconds_count: 1,
    fib_connections_open: 3,
    fib_jobs_pending: 4,
    fib_workers: 2,
    fib_worker_restarts_total: 1,
  };
  const series = Object.keys(expected);
  t.deepEqual(Object.fromEntries(series.map((name) => [name, sample(text, name)])), expected);
  t.regex(text, /# TYPE fib_request_duration_seconds histogram/);
  t.regex(text, /# TYPE fib_requests_total counter/);
  t.not(sample(text, 'process_cpu_user_seconds_total'), undefined);
});

test('a strategy without workers or queue does not export their metrics', async (t) => {
  const text = await new ServerMetrics({ processMetrics: false }).text();
  t.notRegex(text, /fib_workers|fib_worker_restarts_total|fib_queue_wait_seconds/);
  t.notRegex(text, /process_cpu/);
  t.is(sample(text, 'fib_connections_open'), 0);
});

test('a primary sums its workers: counters, histogram buckets and gauges', async (t) => {
  const worker = () => {
    const m = new ServerMetrics({ processMetrics: false });
    m.stats.codes[codeIndex('ok')]! += 10;
    m.stats.duration.observe(0.0001, 10);
    m.track({ connectionsOpen: () => 1 });
    return m;
  };
  const workers = [worker(), worker(), worker()];
  const primary = new ServerMetrics({ processMetrics: false });
  primary.trackWorkers(() => 3);
  primary.setRemote(() => Promise.all(workers.map((w) => w.json())));
  const text = await primary.text();
  t.is(sample(text, 'fib_requests_total{code="ok"}'), 30);
  t.is(sample(text, 'fib_request_duration_seconds_bucket{le="0.0001"}'), 30);
  t.is(sample(text, 'fib_request_duration_seconds_count'), 30);
  t.is(sample(text, 'fib_connections_open'), 3);
  t.is(sample(text, 'fib_workers'), 3);
});

test('the endpoint serves GET /metrics, 404 elsewhere, 405 for other methods, 500 when a scrape fails', async (t) => {
  const metrics = new ServerMetrics({ processMetrics: false });
  metrics.stats.codes[0]! += 1;
  const errors: Error[] = [];
  const endpoint = await serveMetrics(metrics, '127.0.0.1', 0, (error) => errors.push(error));
  t.teardown(() => endpoint.close());
  t.regex(endpoint.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const ok = await get(endpoint.url);
  t.is(ok.status, 200);
  t.regex(ok.type, /^text\/plain/);
  t.is(sample(ok.body, 'fib_requests_total{code="ok"}'), 1);
  t.is((await get(endpoint.url.replace('/metrics', '/'))).status, 404);
  t.is((await get(endpoint.url, 'POST')).status, 405);
  metrics.setRemote(() => Promise.reject(new Error('a worker did not answer')));
  const failed = await get(endpoint.url);
  t.is(failed.status, 500);
  t.regex(failed.body, /a worker did not answer/);
  t.is(errors.length, 1);
});

test('a busy port is an error of serveMetrics, not a crash', async (t) => {
  const metrics = new ServerMetrics({ processMetrics: false });
  const first = await serveMetrics(metrics, '127.0.0.1', 0);
  t.teardown(() => first.close());
  await t.throwsAsync(serveMetrics(metrics, '127.0.0.1', first.address.port), { code: 'EADDRINUSE' });
});
