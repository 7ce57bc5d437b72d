// The dispatch figures (`npm run measure -- dispatch`): how the strategies
// that hand requests to workers (thread, pool, process-pool, queue) compare
// with async, the event loop computing everything itself, in one run:
//   - pipelined: 4 connections x 64 fib(1) in flight (the C pipeline client),
//     as a share of async's rate;
//   - fairness: one connection pipelines 300 fib(30), then a second sends
//     fib(1): how long its answer takes;
//   - depth 1: fib(1) one at a time (the C client), as a share of async's;
//   - the hop: what a worker strategy's depth-1 request costs more than
//     async's, and the crossover, the n whose fib costs as much, measured here;
//   - convoy: the depth-1 rate beside a fib(30) loop, over the rate alone;
//   - and the same with `--inline-max-n` (the `+inline` rows).
// Every server runs side by side; a different one goes first each round; each
// figure is the median of its per-round values (docs/benchmarks.md, "Measuring").
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { fib } from '@fib/core/worker';
import {
  besideFib30,
  cPipelinedRate,
  cRate,
  delay,
  fixed,
  median,
  pairedRatio,
  ratio,
  startScript,
  strategyBin,
  type RunningServer,
} from './tools.js';

export interface DispatchOptions {
  readonly rounds: number;
  readonly seconds: number;
  /** The `--inline-max-n` of the `+inline` rows. */
  readonly inlineMaxN: number;
  /** Another build's root: its servers are measured too, as `name (baseline)` rows. */
  readonly baseline?: string | undefined;
  readonly log: (line: string) => void;
}

/** The strategies that dispatch to workers, with two workers: the machine's two cores. */
const DISPATCHING = ['thread', 'pool', 'process-pool', 'queue'] as const;
const POOLED = new Set<string>(['pool', 'process-pool', 'queue']);
const PIPELINED = { connections: 4, pipeline: 64 } as const;
/** The fairness scenario: the heavy connection's backlog, and the n of each of its requests. */
const BACKLOG = 300;
const HEAVY_N = 30;
/** How long the heavy connection's backlog is queued before the light request goes. */
const BACKLOG_SETTLE_MS = 200;
/** The light request's answer is awaited this long at most (a strategy without fair dispatch takes seconds). */
const LIGHT_TIMEOUT_MS = 30_000;
/** The n of the crossover search: fib(n) is timed for each. */
const CROSSOVER_RANGE = { from: 5, to: 30 } as const;
const TIMING_MS = 10;
const TIMING_REPEATS = 5;

interface Row {
  readonly name: string;
  readonly strategy: string;
  readonly root: string | undefined;
  readonly args: readonly string[];
}

interface Samples {
  pipelined: number[];
  depth1: number[];
  convoy: number[];
  fairnessMs: number[];
}

export async function measureDispatch(options: DispatchOptions): Promise<object> {
  const { rounds, seconds, log } = options;
  const rows: Row[] = [{ name: 'async', strategy: 'async', root: undefined, args: [] }];
  for (const strategy of DISPATCHING) {
    const args = POOLED.has(strategy) ? ['--workers', '2'] : [];
    rows.push({ name: strategy, strategy, root: undefined, args });
    rows.push({
      name: `${strategy}+inline`,
      strategy,
      root: undefined,
      args: [...args, '--inline-max-n', String(options.inlineMaxN)],
    });
    if (options.baseline !== undefined) {
      rows.push({ name: `${strategy} (baseline)`, strategy, root: options.baseline, args });
    }
  }
  const loadBefore = loadavg()[0]!;
  const samples = new Map<string, Samples>(
    rows.map((row) => [row.name, { pipelined: [], depth1: [], convoy: [], fairnessMs: [] }]),
  );
  const servers = new Map<string, RunningServer>();
  try {
    for (const row of rows) servers.set(row.name, await startScript(strategyBin(row.strategy, row.root), row.args));
    for (let round = 0; round < rounds; round++) {
      // A different server goes first each round.
      const order = rows.map((_, i) => rows[(i + round) % rows.length]!);
      for (const row of order) {
        const { port } = servers.get(row.name)!;
        const sample = samples.get(row.name)!;
        sample.pipelined.push(await cPipelinedRate(port, seconds, PIPELINED));
        const alone = await cRate(port, seconds);
        sample.depth1.push(alone);
        // async computes the fib(30) loop on its only thread: its convoy is the original's, not dispatch's.
        if (row.strategy !== 'async') {
          sample.convoy.push(ratio(await besideFib30(port, seconds, () => cRate(port, seconds)), alone));
          sample.fairnessMs.push(await lightBehindBacklog(port));
        }
        log(
          `round ${round + 1}/${rounds} ${row.name}: pipelined ${Math.round(sample.pipelined.at(-1)!)}/s, ` +
            `depth 1 ${Math.round(alone)}/s${row.strategy === 'async' ? '' : `, light answer ${fixed(sample.fairnessMs.at(-1)!, 1)} ms`}`,
        );
      }
    }
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
  }
  const reference = samples.get('async')!;
  const fibMicros = timeFib();
  const asyncMicros = 1e6 / median(reference.depth1);
  const figures = Object.fromEntries(
    rows.map((row) => {
      const sample = samples.get(row.name)!;
      const hopMicros = 1e6 / median(sample.depth1) - asyncMicros;
      return [
        row.name,
        {
          pipelinedPerSecond: Math.round(median(sample.pipelined)),
          pipelinedShareOfAsync: fixed(pairedRatio(sample.pipelined, reference.pipelined)),
          depth1PerSecond: Math.round(median(sample.depth1)),
          depth1ShareOfAsync: fixed(pairedRatio(sample.depth1, reference.depth1)),
          ...(row.strategy === 'async'
            ? {}
            : {
                convoyRatio: fixed(median(sample.convoy)),
                lightAnswerBehindBacklogMs: fixed(median(sample.fairnessMs), 1),
                hopMicros: fixed(hopMicros, 1),
                crossoverN: crossover(fibMicros, hopMicros),
              }),
        },
      ];
    }),
  );
  return {
    figures: 'dispatch',
    rounds,
    secondsPerSample: seconds,
    inlineMaxN: options.inlineMaxN,
    pipelined: `${PIPELINED.connections} connections x ${PIPELINED.pipeline} fib(1) in flight (C client)`,
    fairness: `${BACKLOG} fib(${HEAVY_N}) pipelined on one connection, then fib(1) on another`,
    fibMicros: Object.fromEntries(fibMicros.map(([n, micros]) => [n, fixed(micros, 3)])),
    loadAverage: { before: fixed(loadBefore), after: fixed(loadavg()[0]!) },
    servers: figures,
  };
}

/**
 * One connection writes BACKLOG requests for fib(HEAVY_N) at once; once they
 * are queued, a second connection asks for fib(1): milliseconds to its answer.
 * The heavy connection then closes, which cancels what it still has queued.
 */
async function lightBehindBacklog(port: number): Promise<number> {
  const heavy = await open(port);
  const light = await open(port);
  try {
    heavy.write(`${HEAVY_N}\n`.repeat(BACKLOG));
    await delay(BACKLOG_SETTLE_MS);
    const started = performance.now();
    const answered = firstLine(light);
    light.write('1\n');
    const line = await answered;
    if (line !== '1') throw new Error(`the light request was answered ${JSON.stringify(line)}`);
    return performance.now() - started;
  } finally {
    heavy.destroy();
    light.destroy();
    // The workers finish the jobs they hold (at most one fib(30) batch each) before the next figure.
    await delay(BACKLOG_SETTLE_MS);
  }
}

async function open(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  return socket;
}

function firstLine(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('no answer to the light request')), LIGHT_TIMEOUT_MS);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end === -1) return;
      clearTimeout(timer);
      resolve(text.slice(0, end));
    });
    socket.once('error', reject);
  });
}

/** Microseconds fib(n) takes on this thread, for each n of CROSSOVER_RANGE: the median of repeated timings. */
function timeFib(): [number, number][] {
  const times: [number, number][] = [];
  for (let n = CROSSOVER_RANGE.from; n <= CROSSOVER_RANGE.to; n++) {
    // Enough calls for TIMING_MS, so that the timer's resolution does not matter (the first rounds warm the JIT).
    let calls = 1;
    while (timeCalls(n, calls) < TIMING_MS) calls *= 2;
    const repeats = Array.from({ length: TIMING_REPEATS }, () => (timeCalls(n, calls) * 1000) / calls);
    times.push([n, median(repeats)]);
  }
  return times;
}

function timeCalls(n: number, calls: number): number {
  const started = performance.now();
  for (let i = 0; i < calls; i++) fib(n);
  return performance.now() - started;
}

/** The least n whose fib takes at least `hopMicros`: below it, computing beats the hop. */
function crossover(fibMicros: readonly [number, number][], hopMicros: number): number | null {
  return fibMicros.find(([, micros]) => micros >= hopMicros)?.[0] ?? null;
}
