// What one hop to a worker thread costs, without sockets
// (`npm run measure -- hop`): a request is sent to a thread that answers
// fib(1), and the next is sent when the answer is back (depth 1, as
// fib-perf2 measures the servers). Three ways, in turn, round after round:
//   - raw:     worker.postMessage(n) / parentPort.postMessage(fib(n)), the
//              mechanism of @fib/server-thread;
//   - channel: a message shaped like piscina's ({ task, taskId, filename,
//              name }) over a MessageChannel port of its own, as piscina sends;
//   - piscina: `await pool.run(n)` on a pool configured as @fib/server-pool's
//              (2 threads that never idle out, timing histograms off).
// For each: microseconds of wall time and of the main thread's CPU per round
// trip (from /proc), medians of the rounds. Bounded: rounds x 3 x trips.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { fixed, mainThreadCpuMs, median } from './tools.js';

/** Round trips before timing: the JIT and the threads' start-up stay out of the figure. */
const WARMUP_TRIPS = 2000;

// The threads' code, inline: the same recursive fib as @fib/core's.
const FIB = 'const fib = (n) => (n < 2 ? n : fib(n - 1) + fib(n - 2));';
const RAW_WORKER = `${FIB}
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (n) => parentPort.postMessage(fib(n)));`;
const CHANNEL_WORKER = `${FIB}
const { parentPort } = require('node:worker_threads');
parentPort.once('message', ({ port }) => {
  port.on('message', (m) => port.postMessage({ taskId: m.taskId, result: fib(m.task), error: null, time: null }));
});`;
/** Microseconds per round trip: wall time, and CPU of the main thread. */
interface Trip {
  wallUs: number;
  cpuUs: number;
}

/** Runs `trip` (one round trip) sequentially, `trips` times after a warm-up. */
async function measure(trip: () => Promise<unknown>, trips: number): Promise<Trip> {
  for (let i = 0; i < WARMUP_TRIPS; i++) await trip();
  const cpu = mainThreadCpuMs();
  const start = process.hrtime.bigint();
  for (let i = 0; i < trips; i++) await trip();
  const wallUs = Number(process.hrtime.bigint() - start) / 1e3 / trips;
  return { wallUs, cpuUs: ((mainThreadCpuMs() - cpu) * 1000) / trips };
}

async function raw(trips: number): Promise<Trip> {
  const worker = new Worker(RAW_WORKER, { eval: true });
  let answered: (value: unknown) => void = () => undefined;
  worker.on('message', (value) => answered(value));
  try {
    return await measure(
      () =>
        new Promise((resolve) => {
          answered = resolve;
          worker.postMessage(1);
        }),
      trips,
    );
  } finally {
    await worker.terminate();
  }
}

async function channel(trips: number, taskFile: string): Promise<Trip> {
  const worker = new Worker(CHANNEL_WORKER, { eval: true });
  const { port1, port2 } = new MessageChannel();
  worker.postMessage({ port: port2 }, [port2]);
  let answered: (value: unknown) => void = () => undefined;
  port1.on('message', (message: { result: number }) => answered(message.result));
  let taskId = 0;
  try {
    return await measure(
      () =>
        new Promise((resolve) => {
          answered = resolve;
          port1.postMessage({ task: 1, taskId: taskId++, filename: taskFile, name: 'default' });
        }),
      trips,
    );
  } finally {
    port1.close();
    await worker.terminate();
  }
}

async function piscina(trips: number, taskFile: string): Promise<Trip> {
  const pool = new Piscina({
    filename: taskFile,
    minThreads: 2,
    maxThreads: 2,
    idleTimeout: Infinity,
    recordTiming: false,
  });
  try {
    return await measure(() => pool.run(1), trips);
  } finally {
    await pool.destroy();
  }
}

export async function measureHop({ rounds, trips }: { rounds: number; trips: number }): Promise<object> {
  // piscina loads its task function from a file: a throwaway one.
  const scratch = mkdtempSync(join(tmpdir(), 'fib-hop-'));
  try {
    const taskFile = join(scratch, 'task.mjs');
    writeFileSync(taskFile, `${FIB}\nexport default (n) => fib(n);\n`);
    const ways: Record<string, () => Promise<Trip>> = {
      raw: () => raw(trips),
      channel: () => channel(trips, taskFile),
      piscina: () => piscina(trips, taskFile),
    };
    const samples: Record<string, Trip[]> = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [name, run] of Object.entries(ways)) samples[name]!.push(await run());
    }
    const summary = Object.fromEntries(
      Object.entries(samples).map(([name, runs]) => [
        name,
        {
          wallUsPerTrip: fixed(median(runs.map((r) => r.wallUs)), 1),
          mainCpuUsPerTrip: fixed(median(runs.map((r) => r.cpuUs)), 1),
        },
      ]),
    );
    return { rounds, trips, summary, samples };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
