// The figures of the operations features (`npm run measure -- metrics|reload`):
//   - metrics: fib-perf2 at depth 1 against one strategy with metrics off and
//     on, side by side, alternating which goes first; the figure is the
//     median of the per-round ratios (on / off), with each server's
//     main-thread CPU per request beside it (a busy machine disturbs CPU
//     time far less than a rate). The metrics server is scraped once per
//     round, outside the timed window, as Prometheus would.
//   - reload: fib-perf2 at depth 1 on one connection against a strategy with
//     workers; SIGHUP partway through; the per-second rates around it, the
//     reload's own duration (from the server's `reload done in S s` line),
//     and whether any request failed or the connection was dropped.
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { spawnReady } from '@fib/testkit/ready';
import {
  delay,
  fixed,
  mainThreadCpuMs,
  median,
  pairedRatio,
  perf,
  startScript,
  strategyBin,
  type RunningServer,
} from './tools.js';

/** Warm-up of each fib-perf2 run, in seconds: JIT and connection set-up stay out of the figure. */
const WARMUP_S = 0.3;
const READY_TIMEOUT_MS = 15_000;

export interface MetricsCostOptions {
  readonly strategy: string;
  readonly args: readonly string[];
  readonly rounds: number;
  readonly seconds: number;
  readonly log: (line: string) => void;
}

/** A free loopback port, for --metrics-port (the ready-line reader knows only the server's port). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.text();
}

/** One depth-1 fib-perf2 sample: its rate, and the server's main-thread CPU microseconds per request. */
async function sample(server: RunningServer, seconds: number) {
  const cpu = mainThreadCpuMs(server.pid);
  const result = await perf('perf2', server.port, ['--warmup', String(WARMUP_S), '--duration', String(seconds)]);
  if (result.requests.failed > 0) throw new Error(`fib-perf2 saw failures: ${result.problems.join('; ')}`);
  const requests = result.rate.mean * (seconds + WARMUP_S);
  return { rate: result.rate.mean, cpuMicros: ((mainThreadCpuMs(server.pid) - cpu) * 1000) / requests };
}

export async function measureMetricsCost(options: MetricsCostOptions): Promise<object> {
  const { strategy, args, rounds, seconds, log } = options;
  const metricsPort = await freePort();
  const url = `http://127.0.0.1:${metricsPort}/metrics`;
  const off = await startScript(strategyBin(strategy), args);
  const on = await startScript(strategyBin(strategy), [...args, '--metrics-port', String(metricsPort)]);
  try {
    const rates = { off: [] as number[], on: [] as number[] };
    const cpu = { off: [] as number[], on: [] as number[] };
    const load = [loadavg()[0]!];
    for (const server of [off, on]) await perf('perf2', server.port, ['--pipeline', '16', '--duration', '1']);
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? ([off, on] as const) : ([on, off] as const);
      const got = new Map<RunningServer, Awaited<ReturnType<typeof sample>>>();
      for (const server of order) got.set(server, await sample(server, seconds));
      await scrape(url);
      const a = got.get(off)!;
      const b = got.get(on)!;
      rates.off.push(a.rate);
      rates.on.push(b.rate);
      cpu.off.push(a.cpuMicros);
      cpu.on.push(b.cpuMicros);
      load.push(loadavg()[0]!);
      log(
        `round ${i + 1}: off ${Math.round(a.rate)}/s ${a.cpuMicros.toFixed(1)} µs CPU/req; ` +
          `on ${Math.round(b.rate)}/s ${b.cpuMicros.toFixed(1)} µs CPU/req; on/off ${(b.rate / a.rate).toFixed(3)}`,
      );
    }
    const text = await scrape(url);
    return {
      figures: 'metrics',
      strategy,
      rounds,
      seconds,
      loadAverage: { min: fixed(Math.min(...load)), max: fixed(Math.max(...load)) },
      depth1Rate: { off: Math.round(median(rates.off)), on: Math.round(median(rates.on)) },
      depth1RateOnOverOff: fixed(pairedRatio(rates.on, rates.off), 3),
      mainThreadCpuMicrosPerRequest: { off: fixed(median(cpu.off)), on: fixed(median(cpu.on)) },
      cpuOnOverOff: fixed(pairedRatio(cpu.on, cpu.off), 3),
      requestsCounted: Number(/^fib_request_duration_seconds_count (\d+)$/m.exec(text)?.[1] ?? Number.NaN),
    };
  } finally {
    await Promise.all([off.stop(), on.stop()]);
  }
}

export interface ReloadOptions {
  readonly strategy: string;
  readonly args: readonly string[];
  readonly seconds: number;
  /** Seconds into the run when SIGHUP is sent. */
  readonly at: number;
  readonly log: (line: string) => void;
}

export async function measureReload(options: ReloadOptions): Promise<object> {
  const { strategy, args, seconds, at, log } = options;
  const server = await spawnReady(process.execPath, [strategyBin(strategy), '--port', '0', ...args], {
    timeoutMs: READY_TIMEOUT_MS,
    stderr: 'pipe',
    label: strategy,
  });
  let stderr = '';
  server.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  try {
    const load = loadavg()[0]!;
    const run = perf('perf2', server.port, ['--duration', String(seconds)]);
    await delay(at * 1000);
    const sent = performance.now();
    server.child.kill('SIGHUP');
    const result = await run;
    const done = /reload done in (\d+(?:\.\d+)?) s: (\d+) workers replaced/.exec(stderr);
    log(stderr.trim());
    return {
      figures: 'reload',
      strategy,
      args,
      loadAverage: fixed(load),
      sighupAtSecond: at,
      perSecond: result.rate.perSecond,
      reloadSeconds: done === null ? null : Number(done[1]),
      workersReplaced: done === null ? null : Number(done[2]),
      failed: result.requests.failed,
      droppedConnections: result.connections.dropped,
      measuredAfterSighupMs: Math.round(performance.now() - sent),
    };
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
}
