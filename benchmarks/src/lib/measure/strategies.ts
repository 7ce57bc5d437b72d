// The figures of one group of strategies against the sequential and async
// servers, in one run (`npm run measure -- pool|cluster|queue`):
//   - convoy ratio: fib-perf2's rate (n=1, depth 1) while another client
//     loops fib(30), over its rate alone;
//   - depth-1 rate over fib-server-async's, and the CPU each server's main
//     thread spends per request there (where a hop to a worker costs);
//   - total fib(27) answers/s with 4 connections, over fib-server-sequential's;
//   - optionally fib-perf2 with 8 connections (the cluster's shared port);
//   - the machine's own ceiling for the fib(27) ratio: what two plain node
//     processes computing fib(27) at once get over one, in each round.
// Every server runs side by side on a free port; a different one goes first
// each round; each rate is the median of its rounds and each ratio the median
// of its per-round ratios (docs/benchmarks.md, "Measuring").
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import {
  besideFib30,
  fixed,
  mainThreadCpuMs,
  median,
  pairedRatio,
  perf,
  ratio,
  startScript,
  strategyBin,
  type RunningServer,
} from './tools.js';

export interface StrategySet {
  /** The strategies measured, sequential and async first: the references of the ratios. */
  readonly strategies: readonly string[];
  /** Extra flags per strategy (pool sizes). */
  readonly args?: Readonly<Record<string, readonly string[]>>;
  /** Also measure fib-perf2 with 8 connections. */
  readonly eightConnections?: boolean;
}

/** The figure sets `npm run measure` knows, by name. */
export const STRATEGY_SETS: Readonly<Record<string, StrategySet>> = {
  // Two workers: the machine's two cores, so that the fib(27) ratio shows
  // parallelism rather than oversubscription.
  pool: { strategies: ['sequential', 'async', 'thread', 'pool'], args: { pool: ['--workers', '2'] } },
  cluster: {
    strategies: ['sequential', 'async', 'cluster', 'fork'],
    args: { cluster: ['--workers', '2'] },
    eightConnections: true,
  },
  queue: {
    strategies: ['sequential', 'async', 'process-pool', 'queue'],
    args: { 'process-pool': ['--workers', '2'], queue: ['--workers', '2'] },
  },
};

/** Warm-up of each fib-perf2 run, in seconds: JIT and connection set-up stay out of the figure. */
const WARMUP = '0.3';

interface Samples {
  depth1: number[];
  depth1CpuMicros: number[];
  contended: number[];
  fib27x4: number[];
  perf2x8: number[];
}

export async function measureStrategies(
  set: StrategySet,
  { rounds, seconds }: { rounds: number; seconds: number },
): Promise<object> {
  const measured = { duration: String(seconds), warmup: WARMUP };
  const depth1 = (port: number) =>
    perf('perf2', port, ['--n', '1', '--duration', measured.duration, '--warmup', measured.warmup]);
  const rate = async (port: number, args: readonly string[]) =>
    (await perf('perf2', port, [...args, '--duration', measured.duration, '--warmup', measured.warmup])).rate.mean;

  const loadBefore = loadavg()[0]!;
  const names = set.strategies;
  const servers = new Map<string, RunningServer>();
  const samples = new Map<string, Samples>(
    names.map((name) => [name, { depth1: [], depth1CpuMicros: [], contended: [], fib27x4: [], perf2x8: [] }]),
  );
  const ceiling: number[] = [];
  try {
    for (const name of names) servers.set(name, await startScript(strategyBin(name), set.args?.[name] ?? []));
    for (let round = 0; round < rounds; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]!);
      for (const name of order) {
        const server = servers.get(name)!;
        const s = samples.get(name)!;
        // The sequential server serves one connection at a time: a fib(30)
        // loop beside it would hold its only slot for the whole run.
        if (name !== 'sequential') {
          const before = mainThreadCpuMs(server.pid);
          const summary = await depth1(server.port);
          const answered = summary.requests.ok + summary.warmup.ok;
          s.depth1.push(summary.rate.mean);
          s.depth1CpuMicros.push(answered === 0 ? 0 : ((mainThreadCpuMs(server.pid) - before) * 1000) / answered);
          s.contended.push(await besideFib30(server.port, seconds, async () => (await depth1(server.port)).rate.mean));
          if (set.eightConnections) s.perf2x8.push(await rate(server.port, ['--connections', '8']));
        }
        s.fib27x4.push(await rate(server.port, ['--n', '27', '--connections', '4']));
      }
      ceiling.push(await parallelCeiling(seconds));
    }
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
  }

  const of = (name: string) => samples.get(name)!;
  const workers = names.filter((name) => name !== 'sequential');
  const byStrategy = <T>(list: readonly string[], value: (name: string) => T) =>
    Object.fromEntries(list.map((name) => [name, value(name)]));
  return {
    rounds,
    secondsPerSample: seconds,
    loadAverage: { before: fixed(loadBefore), after: fixed(loadavg()[0]!) },
    convoyRatio: byStrategy(workers, (name) => fixed(pairedRatio(of(name).contended, of(name).depth1), 4)),
    depth1OverAsync: byStrategy(workers, (name) => fixed(pairedRatio(of(name).depth1, of('async').depth1))),
    mainThreadCpuMicrosPerRequest: byStrategy(workers, (name) => fixed(median(of(name).depth1CpuMicros), 1)),
    fib27x4OverSequential: byStrategy(workers, (name) =>
      fixed(pairedRatio(of(name).fib27x4, of('sequential').fib27x4)),
    ),
    ...(set.eightConnections
      ? { perf2x8OverAsync: byStrategy(workers, (name) => fixed(pairedRatio(of(name).perf2x8, of('async').perf2x8))) }
      : {}),
    // The most the fib27x4 ratios can reach on this machine while it measures.
    parallelCeiling: fixed(median(ceiling)),
    parallelCeilingPerRound: ceiling.map((x) => fixed(x)),
    medians: byStrategy(names, (name) => ({
      depth1: median(of(name).depth1),
      contended: median(of(name).contended),
      fib27x4: median(of(name).fib27x4),
    })),
    samples: Object.fromEntries(samples),
  };
}

/**
 * fib(27)s computed per second by two plain node processes at once, over one
 * alone (no server, no client). On a VM whose two vCPUs share a core, or a
 * busy host, this is well under 2, and no server can beat it.
 */
export async function parallelCeiling(seconds: number): Promise<number> {
  const loop = `const f = (n) => (n < 2 ? n : f(n - 1) + f(n - 2));
const end = Date.now() + ${seconds * 1000}; let done = 0;
while (Date.now() < end) { f(27); done++; }
console.log(done);`;
  const count = async () => {
    const child = spawn(process.execPath, ['-e', loop], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await once(child, 'close');
    return Number(out);
  };
  const alone = await count();
  const [a, b] = await Promise.all([count(), count()]);
  return ratio(a + b, alone);
}
