// `npm run measure -- cluster-design --baseline PATH`: the cluster as it is
// against another build of it (PATH: that build's dist/bin.js, e.g. the
// round-robin design before the acknowledged handoff), in one run:
//   - fib-perf2 over 8 connections (depth 1);
//   - the convoy ratio: fib-perf2's rate beside a fib(30) loop over alone;
//   - fib(27) answers/s over 4 connections;
//   - a light client's latency while another connection loops fib(38): each
//     sample opens a connection, asks fib(1) and closes, so that it shows
//     which worker a new connection is handed to.
// Both servers run side by side with 2 workers; a different one goes first
// each round; rates are medians of the rounds, ratios medians of per-round
// ratios (docs/benchmarks.md, "Measuring").
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import {
  besideFib30,
  delay,
  fixed,
  median,
  pairedRatio,
  perf2Rate,
  startScript,
  strategyBin,
  type RunningServer,
} from './tools.js';

/** Light-client samples per round; each is one short connection. */
const LIGHT_SAMPLES = 20;
/** Between two light samples, so that the fib(38) loop goes on meanwhile. */
const LIGHT_GAP_MS = 50;

interface Samples {
  perf2x8: number[];
  alone: number[];
  contended: number[];
  fib27x4: number[];
  lightMs: number[];
}

export async function measureClusterDesign(options: {
  baseline: string;
  rounds: number;
  seconds: number;
}): Promise<object> {
  const { rounds, seconds } = options;
  const builds = { current: strategyBin('cluster'), baseline: options.baseline } as const;
  const names = Object.keys(builds) as (keyof typeof builds)[];
  const samples = Object.fromEntries(
    names.map((name) => [name, { perf2x8: [], alone: [], contended: [], fib27x4: [], lightMs: [] } as Samples]),
  ) as Record<keyof typeof builds, Samples>;
  const loadBefore = loadavg()[0]!;
  const servers = new Map<string, RunningServer>();
  const run = ['--duration', String(seconds), '--warmup', '0.3'];
  try {
    for (const name of names) servers.set(name, await startScript(builds[name], ['--workers', '2']));
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 === 0 ? names : [...names].reverse()) {
        const { port } = servers.get(name)!;
        const s = samples[name];
        s.perf2x8.push(await perf2Rate(port, ['--connections', '8', ...run]));
        s.alone.push(await perf2Rate(port, run));
        s.contended.push(await besideFib30(port, seconds, () => perf2Rate(port, run)));
        s.fib27x4.push(await perf2Rate(port, ['--n', '27', '--connections', '4', ...run]));
        s.lightMs.push(...(await lightBesideFib38(port)));
      }
    }
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
  }
  const figures = (name: keyof typeof builds) => {
    const s = samples[name];
    const light = [...s.lightMs].sort((a, b) => a - b);
    return {
      perf2x8: Math.round(median(s.perf2x8)),
      convoyRatio: fixed(pairedRatio(s.contended, s.alone), 3),
      fib27x4: Math.round(median(s.fib27x4)),
      lightMs: {
        p50: fixed(median(light)),
        p90: fixed(light[Math.floor(light.length * 0.9)]!),
        max: fixed(light.at(-1)!),
      },
    };
  };
  return {
    rounds,
    secondsPerSample: seconds,
    loadAverage: { before: fixed(loadBefore), after: fixed(loadavg()[0]!) },
    builds,
    current: figures('current'),
    baseline: figures('baseline'),
    currentOverBaseline: {
      perf2x8: fixed(pairedRatio(samples.current.perf2x8, samples.baseline.perf2x8)),
      fib27x4: fixed(pairedRatio(samples.current.fib27x4, samples.baseline.fib27x4)),
    },
    samples,
  };
}

/** Light samples (ms, connect to answer) while one connection loops fib(38) on the same server. */
async function lightBesideFib38(port: number): Promise<number[]> {
  const heavy = connect(port, '127.0.0.1');
  heavy.setEncoding('utf8');
  let looping = true;
  heavy.on('data', () => looping && heavy.write('38\n'));
  heavy.on('error', () => {});
  heavy.write('38\n');
  await delay(200);
  const times: number[] = [];
  try {
    for (let i = 0; i < LIGHT_SAMPLES; i++) {
      times.push(await lightRequest(port));
      await delay(LIGHT_GAP_MS);
    }
  } finally {
    looping = false;
    heavy.destroy();
  }
  return times;
}

function lightRequest(port: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('1\n'));
    socket.setEncoding('utf8');
    socket.once('data', () => {
      resolve(performance.now() - started);
      socket.destroy();
    });
    socket.once('error', reject);
    // A connection that never answers is a failure of the design, not a sample.
    socket.setTimeout(30_000, () => socket.destroy(new Error('no answer within 30 s')));
  });
}
