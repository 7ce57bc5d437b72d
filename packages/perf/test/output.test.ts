// What a run leaves behind: the HdrHistogram log, the spectrum, the JSON
// series, the exit codes when the server dies, and `compare`.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HistogramLogReader } from 'hdr-histogram-js';
import { formatProgress, regularizedBeta, studentTwoSided, welchTest } from '@fib/perf';
import { runBin } from './helpers/bins.js';
import { serve } from './helpers/servers.js';

function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fib-perf-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('--hdr-log writes an interval log that HistogramLogReader reads back to the same percentiles', async (t) => {
  const server = await serve(t);
  const log = join(tempDir(t), 'run.hlog');
  const run = await runBin('fib-perf2', [
    '--port',
    String(server.port),
    '-d',
    '2.5s',
    '-p',
    '4',
    '--hdr-log',
    log,
    '-j',
    '-q',
  ]);
  t.is(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  const text = readFileSync(log, 'utf8');
  t.regex(text, /^#\[Histogram log format version 1\.3\]$/m);
  t.regex(text, /^#\[StartTime: \d+\.\d{3} \(seconds since epoch\)/m);
  const reader = new HistogramLogReader(text);
  let intervals = 0;
  let merged = null;
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
    intervals++;
    if (merged === null) merged = h;
    else merged.add(h);
  }
  // Two full seconds and the half second at the end (two intervals when a starved machine fired
  // the two-second tick so late that the end came first: the second then runs to the end).
  t.true(intervals === 3 || intervals === 2, String(intervals));
  t.not(merged, null);
  t.is(merged!.totalCount, result.latencyMicros.count);
  t.is(merged!.totalCount, result.requests.ok);
  for (const { percentile, micros } of result.latencyMicros.percentiles) {
    t.is(merged!.getValueAtPercentile(percentile), micros, `p${percentile}`);
  }
  // Equal to HdrHistogram's resolution (3 significant digits): the decoder and add() round the max differently.
  t.true(Math.abs(merged!.maxValue - result.latencyMicros.max) <= result.latencyMicros.max / 1000);
});

test('--latency prints the wrk2-style distribution and the full spectrum up to 99.999 %', async (t) => {
  const server = await serve(t);
  const run = await runBin('fib-perf2', ['--port', String(server.port), '-n', '2000', '-p', '8', '--latency', '-q']);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /Latency Distribution \(HdrHistogram - Recorded Latency\)/);
  for (const p of ['50.000', '75.000', '90.000', '99.000', '99.900', '99.990', '99.999', '100.000']) {
    t.regex(run.stdout, new RegExp(`^ *${p.replace('.', '\\.')}% +\\d`, 'm'), p);
  }
  t.regex(run.stdout, /Detailed Percentile spectrum/);
  t.regex(run.stdout, /Value +Percentile +TotalCount 1\/\(1-Percentile\)/);
  t.regex(run.stdout, /#\[Max += +[\d.]+, Total count += +2000\]/);
});

test('--json has the per-second series and the percentile spectrum', async (t) => {
  const server = await serve(t);
  const run = await runBin('fib-perf2', ['--port', String(server.port), '-d', '2.3', '-j', '-q']);
  t.is(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  t.is(result.series.length, 2);
  t.deepEqual(
    result.series.map((s: { rate: number }) => s.rate),
    result.rate.perSecond,
  );
  for (const second of result.series) {
    t.deepEqual(Object.keys(second).sort(), ['elapsed', 'failed', 'latencyMicros', 'rate', 'total']);
    t.true(second.latencyMicros.count > 0);
    t.true(
      second.latencyMicros.p50 <= second.latencyMicros.p99 && second.latencyMicros.p99 <= second.latencyMicros.max,
    );
  }
  const stats = result.rate.stats;
  t.is(stats.min, Math.min(...result.rate.perSecond));
  t.is(stats.max, Math.max(...result.rate.perSecond));
  t.true(stats.min <= stats.p2_5 && stats.p2_5 <= stats.p50 && stats.p50 <= stats.max);
  t.true(result.latencyMicros.percentiles.some((p: { percentile: number }) => p.percentile === 99.999));
});

const require = createRequire(import.meta.url);
const asyncBin = join(dirname(require.resolve('@fib/server-async/package.json')), 'dist', 'bin.js');

/** Starts the real fib-server-async on a free port. */
function startRealServer(): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [asyncBin, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('fib-server-async did not get ready in 15 s'));
    }, 15_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /listening on \S+:(\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.on('error', reject);
  });
}

test('a server killed mid-run: the summary says so and the exit code is 3', async (t) => {
  const server = await startRealServer();
  t.teardown(() => {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  });
  let killed = false;
  const run = await runBin('fib-perf2', ['--port', String(server.port), '-c', '2', '-d', '30s'], {
    timeoutMs: 25_000,
    onSpawn(child, output) {
      // Kill the server once the first per-second line proves the run is measuring.
      const timer = setInterval(() => {
        if (!killed && output.stdout.includes('reqs/sec')) {
          killed = true;
          clearInterval(timer);
          server.child.kill('SIGKILL');
        }
      }, 20);
      child.on('exit', () => clearInterval(timer));
    },
  });
  t.true(killed);
  t.is(run.code, 3, run.stderr);
  t.regex(run.stdout, /\(stopped: connections-lost\)/);
  t.regex(run.stdout, /conns {6}2 opened, 0 failed to open, 2 dropped by the server/);
  t.regex(run.stderr, /fib-perf2: cut short: the server closed every connection\n$/);
});

test('a connection the server drops while others go on: exit 3 at the end of the run', async (t) => {
  const server = await serve(t, ({ socket, n, connection, index }) => {
    if (connection === 0 && index === 5) {
      socket.destroy();
      return null;
    }
    return `${n < 2 ? n : 1}\n`;
  });
  const run = await runBin('fib-perf2', ['--port', String(server.port), '-c', '2', '-n', '200', '-q']);
  t.is(run.code, 3, run.stderr);
  t.regex(run.stderr, /fib-perf2: cut short: 1 connection\(s\) dropped by the server\n$/);
});

// --- compare ---

function runFile(perSecond: number[], p99 = 100): object {
  const mean = Math.round(perSecond.reduce((a, b) => a + b, 0) / perSecond.length);
  return {
    tool: 'fib-perf2',
    seconds: perSecond.length,
    rate: { mean, peak: Math.max(...perSecond), perSecond },
    series: perSecond.map((rate, i) => ({
      elapsed: i + 1,
      rate,
      failed: 0,
      total: 0,
      latencyMicros: { count: rate, p50: 50, p99: p99 + (i % 2), max: 900 },
    })),
  };
}

test('compare: a significant drop beyond --threshold exits 1; noise, a small drop or a gain exit 0', async (t) => {
  const dir = tempDir(t);
  const write = (name: string, data: object) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(data));
    return path;
  };
  const a = write('a.json', runFile([10_000, 10_100, 9_900, 10_050, 9_950, 10_020]));
  const slower = write('slower.json', runFile([8_000, 8_100, 7_900, 8_050, 7_950, 8_020]));
  const noise = write('noise.json', runFile([10_010, 9_890, 10_120, 9_940, 10_060, 9_990]));
  const slightly = write('slightly.json', runFile([9_800, 9_900, 9_700, 9_850, 9_750, 9_820]));
  const faster = write('faster.json', runFile([12_000, 12_100, 11_900, 12_050, 11_950, 12_020]));
  const laggy = write('laggy.json', runFile([10_000, 10_100, 9_900, 10_050, 9_950, 10_020], 300));

  const regressed = await runBin('fib-perf2', ['compare', a, slower]);
  t.is(regressed.code, 1, regressed.stderr);
  t.regex(regressed.stdout, /rate \(reqs\/sec\) +│ 10,003 +│ 8,003 +│ -20\.0 % +│ < 0\.0001 +│ REGRESSED/);
  t.regex(regressed.stdout, /Result: b REGRESSED against a\./);

  const same = await runBin('fib-perf2', ['compare', a, noise]);
  t.is(same.code, 0, same.stdout);
  t.regex(same.stdout, /rate .*no significant difference/);

  // Significant, but within the 5 % threshold: reported, not failed; a tighter threshold fails it.
  const small = await runBin('fib-perf2', ['compare', a, slightly]);
  t.is(small.code, 0, small.stdout);
  t.regex(small.stdout, /rate .*worse, within threshold/);
  t.is((await runBin('fib-perf2', ['compare', a, slightly, '--threshold', '0.01'])).code, 1);

  const gain = await runBin('fib-perf2', ['compare', a, faster, '--json']);
  t.is(gain.code, 0);
  const comparison = JSON.parse(gain.stdout);
  t.false(comparison.regressed);
  t.like(comparison.metrics[0], { name: 'rate', significant: true, regressed: false });

  // Latency counts too: p99 three times higher every second.
  const slowTail = await runBin('fib-perf1', ['compare', a, laggy]);
  t.is(slowTail.code, 1);
  t.regex(slowTail.stdout, /p99 latency \(us\) .*REGRESSED/);

  const bad = await runBin('fib-perf2', ['compare', a]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^fib-perf2 compare: compare needs two --json files/);
  const missing = await runBin('fib-perf2', ['compare', a, join(dir, 'nope.json')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /cannot read .*nope\.json: no such file/);
});

test("Welch's test: exact values of Student's t, and a textbook pair of samples", (t) => {
  // df = 1 is the Cauchy distribution: P(|T| >= 1) = 1/2. df = 2: P(|T| >= t) = 1 - t / sqrt(t^2 + 2).
  t.true(Math.abs(studentTwoSided(1, 1) - 0.5) < 1e-10);
  t.true(Math.abs(studentTwoSided(2, 2) - (1 - 2 / Math.sqrt(6))) < 1e-10);
  t.true(Math.abs(studentTwoSided(0, 7) - 1) < 1e-12);
  // I_x(1, 1) = x; I_x(a, 1) = x^a.
  t.true(Math.abs(regularizedBeta(0.3, 1, 1) - 0.3) < 1e-12);
  t.true(Math.abs(regularizedBeta(0.6, 3, 1) - 0.216) < 1e-12);
  // Equal variances and sizes: t = -sqrt(2.5) * ... worked by hand: means 3 and 4, variances 2.5 each, n = 5.
  const r = welchTest([1, 2, 3, 4, 5], [2, 3, 4, 5, 6])!;
  t.true(Math.abs(r.t - -1) < 1e-12);
  t.true(Math.abs(r.df - 8) < 1e-12);
  t.true(r.p > 0.34 && r.p < 0.35); // Student's t, 8 df, |t| = 1: p = 0.3466
  t.is(welchTest([1], [2, 3]), null);
});

test('the progress line: time left for --duration, count for --requests, elapsed otherwise', (t) => {
  t.is(
    formatProgress({ elapsed: 3, duration: 10, requests: null, done: 0, rate: 51234 }),
    '[#######.................] 3.0 s / 10.0 s, 7.0 s left, 51,234 reqs/sec',
  );
  t.is(
    formatProgress({ elapsed: 2, duration: null, requests: 1000, done: 500, rate: 250 }),
    '[############............] 2.0 s, 500 / 1,000 requests, 2.0 s left, 250 reqs/sec',
  );
  t.is(
    formatProgress({ elapsed: 5, duration: null, requests: null, done: 9, rate: null }),
    '5.0 s measured, Ctrl-C stops',
  );
  t.is(
    formatProgress({ elapsed: -0.5, duration: 10, requests: null, done: 0, rate: null }),
    'warming up, measuring in 0.5 s',
  );
});
