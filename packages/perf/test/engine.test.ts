// The engine as a library, against real servers over loopback.
import test from 'ava';
import { expectedFib, runLoad, type LoadResult } from '@fib/perf';
import { naiveFib, serve, startHoldingServer, startServer } from './helpers/servers.js';

test('expectedFib follows the naive definition, fib(0) = 0, up to n = 78', (t) => {
  for (let n = 0; n <= 25; n++) t.is(expectedFib(n), naiveFib(n));
  t.is(expectedFib(78), 8944394323791464);
});

test('--requests: exactly that many requests are sent, all checked and timed', async (t) => {
  const server = await serve(t);
  const result = await runLoad({ port: server.port, requests: 200 });
  t.is(result.stopReason, 'requests');
  t.is(result.requests.ok, 200);
  t.is(result.requests.failed, 0);
  t.is(result.requests.unanswered, 0);
  t.is(server.requests, 200);
  t.is(result.latencyMicros.count, 200);
  t.true(result.latencyMicros.min <= result.latencyMicros.p50);
  t.true(result.latencyMicros.p50 <= result.latencyMicros.p99);
  t.true(result.latencyMicros.p99 <= result.latencyMicros.max);
  t.true(result.seconds > 0);
  t.true(result.rate.mean > 0);
  t.deepEqual(result.connections, { opened: 1, failed: 0, dropped: 0 });
  t.deepEqual(result.problems, []);
});

test('--n: every request asks for n and the answers are checked against fib(n)', async (t) => {
  const server = await serve(t);
  const result = await runLoad({ port: server.port, n: 12, requests: 20, pipeline: 4 });
  t.is(result.requests.ok, 20);
  t.deepEqual(new Set(server.ns), new Set([12]));
  t.is(result.options.n, 12);
});

test('the n default is 1, and a caller (fib-perf1) may change the default', async (t) => {
  const server = await serve(t);
  await runLoad({ port: server.port, requests: 3 });
  await runLoad({ port: server.port, requests: 3 }, { n: 7 });
  t.deepEqual(server.ns, [1, 1, 1, 7, 7, 7]);
});

test('--connections: opens that many connections and spreads the requests over them', async (t) => {
  const server = await serve(t);
  const result = await runLoad({ port: server.port, connections: 3, requests: 60 });
  t.is(server.connections, 3);
  t.is(result.connections.opened, 3);
  t.is(result.requests.ok, 60);
  t.is(server.requests, 60);
});

test('--pipeline: keeps exactly that many requests in flight per connection', async (t) => {
  const server = await startHoldingServer(8);
  t.teardown(() => server.close());
  const result = await runLoad({ port: server.port, pipeline: 8, requests: 40 });
  t.is(result.requests.ok, 40);
  t.is(server.maxPending, 8); // never more, and reached: the client fills every slot
});

test('--duration: stops after that many seconds of measurement, with per-second rates', async (t) => {
  const server = await serve(t);
  const ticks: number[] = [];
  const result = await runLoad({ port: server.port, duration: 1.2, onTick: (tick) => ticks.push(tick.rate) });
  t.is(result.stopReason, 'duration');
  t.true(result.seconds >= 1.19, `measured ${result.seconds} s`);
  t.true(result.requests.ok > 0);
  t.true(ticks.length >= 1);
  t.deepEqual(result.rate.perSecond, ticks);
  t.true(result.rate.peak >= Math.max(...ticks));
  // Answers to requests still in flight at the stop are neither ok nor failed.
  t.is(server.requests, result.requests.ok + result.requests.unanswered);
});

test('--warmup: warmup traffic is checked but kept out of the measurement', async (t) => {
  const server = await serve(t);
  const result = await runLoad({ port: server.port, warmup: 0.2, requests: 30, pipeline: 2 });
  t.is(result.requests.ok, 30);
  t.is(result.latencyMicros.count, 30);
  t.is(result.warmup.seconds, 0.2);
  t.is(result.warmup.failed, 0);
  t.is(server.requests, result.requests.ok + result.warmup.ok);
});

test('--rate: requests follow the schedule, never ahead of it', async (t) => {
  const server = await serve(t);
  const result = await runLoad({ port: server.port, rate: 100, requests: 10 });
  t.is(result.requests.ok, 10);
  t.is(server.requests, 10);
  // Ten requests 10 ms apart: the last one cannot leave before 90 ms.
  t.true(server.arrivals.at(-1)! - server.arrivals[0]! >= 85);
  t.true(result.seconds >= 0.089);
});

test('--rate spreads requests over connections and pipelines them when answers are slow', async (t) => {
  const server = await startHoldingServer(1_000, 30);
  t.teardown(() => server.close());
  const result = await runLoad({ port: server.port, rate: 400, requests: 40, connections: 2, pipeline: 8 });
  t.is(result.requests.ok, 40);
  t.is(server.connections, 2);
  t.true(server.maxPending > 1 && server.maxPending <= 8);
});

test('--rate measures latency from the intended send time (no coordinated omission)', async (t) => {
  // The server stalls 300 ms on its first request. At 100/s and depth 1, the
  // requests due during the stall wait behind it: each must show the wait.
  let stalled = false;
  const server = await serve(t, ({ socket, n }) => {
    if (stalled) return `${naiveFib(n)}\n`;
    stalled = true;
    setTimeout(() => socket.write(`${naiveFib(n)}\n`), 300);
    return null;
  });
  const latencies: number[] = [];
  const result = await runLoad({ port: server.port, rate: 100, requests: 40, onAnswer: (us) => latencies.push(us) });
  t.is(result.requests.ok, 40);
  t.is(latencies.length, 40);
  // Requests 0..19 were due within 200 ms and none was answered before 300 ms.
  t.true(latencies.filter((us) => us >= 100_000).length >= 20, String(latencies));
  t.true(result.latencyMicros.max >= 300_000);
});

test('--rate says so when the schedule falls behind', async (t) => {
  // Each answer takes 40 ms: at depth 1 at most 25/s, far below the 500/s asked.
  const server = await serve(t, ({ socket, n }) => {
    setTimeout(() => socket.write(`${naiveFib(n)}\n`), 40);
    return null;
  });
  const result = await runLoad({ port: server.port, rate: 500, duration: 0.5 });
  t.true(result.requests.ok >= 1);
  t.true(
    result.problems.some((p) => p.startsWith('fell behind the --rate schedule')),
    String(result.problems),
  );
  // Latency counts from the intended send times, so it shows the backlog: the
  // second request was due at 2 ms and could not be answered before 80 ms.
  if (result.requests.ok >= 2) t.true(result.latencyMicros.max >= 75_000);
});

test('signal: aborting ends the run with what was measured', async (t) => {
  const server = await serve(t);
  const controller = new AbortController();
  // Aborts from inside the run, once there is something to measure.
  const result = await runLoad({
    port: server.port,
    signal: controller.signal,
    pipeline: 4,
    onAnswer: () => controller.abort(),
  });
  t.is(result.stopReason, 'signal');
  t.true(result.requests.ok > 0);
  t.is(result.requests.failed, 0);
});

test('a signal aborted before the start measures nothing', async (t) => {
  const result = await runLoad({ port: 1, signal: AbortSignal.abort() });
  t.is(result.stopReason, 'signal');
  t.is(result.requests.ok, 0);
  t.is(result.connections.opened, 0);
});

test('the result has the documented shape', async (t) => {
  const server = await serve(t);
  const result = await runLoad({ port: server.port, requests: 5 });
  const outcomeKeys = ['ok', 'failed', 'err', 'wrong', 'malformed', 'lost'];
  t.deepEqual(Object.keys(result).sort(), [
    'connections',
    'latencyMicros',
    'options',
    'problems',
    'rate',
    'requests',
    'seconds',
    'series',
    'stopReason',
    'target',
    'warmup',
  ]);
  t.deepEqual(result.target, { host: '127.0.0.1', port: server.port });
  t.deepEqual(result.options, {
    n: 1,
    connections: 1,
    pipeline: 1,
    duration: null,
    requests: 5,
    rate: null,
    arrivals: 'uniform',
    warmup: 0,
  });
  t.deepEqual(Object.keys(result.requests).sort(), [...outcomeKeys, 'unanswered'].sort());
  t.deepEqual(Object.keys(result.warmup).sort(), [...outcomeKeys, 'seconds'].sort());
  t.deepEqual(result.requests.err, {
    bad_request: 0,
    out_of_range: 0,
    line_too_long: 0,
    busy: 0,
    internal: 0,
    shutting_down: 0,
  });
  t.deepEqual(Object.keys(result.rate).sort(), ['mean', 'peak', 'perSecond', 'stats']);
  const { percentiles, ...latency } = result.latencyMicros;
  t.deepEqual(Object.keys(latency).sort(), [
    'count',
    'max',
    'mean',
    'min',
    'p2_5',
    'p50',
    'p90',
    'p97_5',
    'p99',
    'p999',
    'stdev',
  ]);
  for (const value of Object.values(latency)) t.true(Number.isFinite(value));
  t.deepEqual(
    percentiles.map((p) => p.percentile),
    [0, 2.5, 10, 25, 50, 75, 90, 97.5, 99, 99.9, 99.99, 99.999, 100],
  );
  for (let i = 1; i < percentiles.length; i++) t.true(percentiles[i]!.micros >= percentiles[i - 1]!.micros);
  t.is(percentiles[4]!.micros, latency.p50);
  t.true(Array.isArray(result.series));
  const copy: LoadResult = JSON.parse(JSON.stringify(result));
  t.deepEqual(copy, result);
});

test('invalid options are rejected with a message naming the option', async (t) => {
  const cases: [object, RegExp, 'TypeError' | 'RangeError'][] = [
    [{ port: 0 }, /options\.port must be an integer from 1 to 65535 \(got 0\)/, 'RangeError'],
    [{ port: '25000' }, /options\.port must be an integer/, 'TypeError'],
    [{ n: 79 }, /options\.n must be an integer from 0 to 78/, 'RangeError'],
    [{ n: 1.5 }, /options\.n/, 'RangeError'],
    [{ connections: 0 }, /options\.connections/, 'RangeError'],
    [{ pipeline: 0 }, /options\.pipeline/, 'RangeError'],
    [{ duration: 0 }, /options\.duration must be a number of seconds above 0/, 'RangeError'],
    [{ arrivals: 'bursty' }, /options\.arrivals must be one of uniform, poisson/, 'RangeError'],
    [{ requests: -1 }, /options\.requests/, 'RangeError'],
    [{ rate: 0 }, /options\.rate/, 'RangeError'],
    [{ warmup: -1 }, /options\.warmup/, 'RangeError'],
    [{ host: '' }, /options\.host must be a non-empty string/, 'TypeError'],
    [{ onTick: 5 }, /options\.onTick must be a function/, 'TypeError'],
    [{ signal: {} }, /options\.signal must be an AbortSignal/, 'TypeError'],
  ];
  for (const [options, message, name] of cases) {
    const error = await t.throwsAsync(runLoad(options));
    t.true(error instanceof (name === 'TypeError' ? TypeError : RangeError), JSON.stringify(options));
    t.regex(error?.message ?? '', message);
  }
});

test("inherited options are ignored and the caller's object is left alone", async (t) => {
  const server = await serve(t);
  const options = Object.assign(Object.create({ pipeline: 0, n: 99 }) as object, { port: server.port, requests: 3 });
  const before = JSON.stringify(options);
  const result = await runLoad(options);
  t.is(result.requests.ok, 3);
  t.is(result.options.pipeline, 1);
  t.is(JSON.stringify(options), before);
});

test('--arrivals poisson: the requested count, with irregular (exponential) gaps', async (t) => {
  const server = await serve(t);
  const result = await runLoad({ port: server.port, rate: 200, arrivals: 'poisson', requests: 120, connections: 3 });
  t.is(result.requests.ok, 120);
  t.is(server.requests, 120);
  t.is(result.options.arrivals, 'poisson');
  const gaps = server.arrivals.slice(1).map((at, i) => at - server.arrivals[i]!);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((a, b) => a + (b - mean) ** 2, 0) / (gaps.length - 1));
  // Exponential gaps have a coefficient of variation of 1; fixed ones, near 0 on an idle machine.
  t.true(sd / mean > 0.6, `coefficient of variation ${(sd / mean).toFixed(2)}`);
});

test('--rate over several connections, Poisson or not: latency counts from the intended send time', async (t) => {
  for (const arrivals of ['uniform', 'poisson'] as const) {
    // Each connection's first request is held 300 ms; the requests due behind it must show the wait.
    const server = await startServer(({ socket, n, index }) => {
      if (index > 0) return `${naiveFib(n)}\n`;
      setTimeout(() => socket.write(`${naiveFib(n)}\n`), 300);
      return null;
    });
    const latencies: number[] = [];
    const result = await runLoad({
      port: server.port,
      rate: 150,
      arrivals,
      connections: 3,
      requests: 60,
      onAnswer: (us) => latencies.push(us),
    });
    await server.close();
    t.is(result.requests.ok, 60, arrivals);
    // About 30 requests (10 a connection) fall due in the first 200 ms, and none is answered before 300 ms.
    t.true(latencies.filter((us) => us >= 100_000).length >= 15, `${arrivals}: ${latencies}`);
  }
});
