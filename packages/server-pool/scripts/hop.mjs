#!/usr/bin/env node
// What one hop to a worker thread costs, without sockets: a request is sent to
// a thread that answers fib(1), and the next is sent when the answer is back
// (depth 1, as fib-perf2 measures the servers). Three ways, in turn, round
// after round:
//   - raw:     worker.postMessage(n) / parentPort.postMessage(fib(n)), the
//              mechanism of @fib/server-thread;
//   - channel: a message shaped like piscina's ({ task, taskId, filename,
//              name }) over a MessageChannel port of its own, as piscina sends;
//   - piscina: `await pool.run(n)` on a pool configured as @fib/server-pool's
//              (2 threads that never idle out, timing histograms off).
// For each: microseconds of wall time per round trip and microseconds of the
// main thread's CPU per round trip (from /proc, user + system), medians of the
// rounds. Bounded: --rounds x 3 x --trips round trips, then it exits.
// Run it after `npm run build`, alone on the machine's cores:
//   flock /tmp/fib-bench.lock node packages/server-pool/scripts/hop.mjs [--rounds 7] [--trips 10000]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { mainThreadCpuMs, median } from '../../../benchmarks/baselines/lib.mjs';

const flag = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const rounds = flag('--rounds', 7);
const trips = flag('--trips', 10_000);
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
// piscina loads its task function from a file: a throwaway one.
const scratch = mkdtempSync(join(tmpdir(), 'fib-hop-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
const PISCINA_WORKER = join(scratch, 'task.mjs');
writeFileSync(PISCINA_WORKER, `${FIB}\nexport default (n) => fib(n);\n`);

/** Runs `trip` (one round trip) sequentially; returns µs of wall and of main-thread CPU per trip. */
async function measure(trip) {
  for (let i = 0; i < WARMUP_TRIPS; i++) await trip();
  const cpu = mainThreadCpuMs();
  const start = process.hrtime.bigint();
  for (let i = 0; i < trips; i++) await trip();
  const wallUs = Number(process.hrtime.bigint() - start) / 1e3 / trips;
  return { wallUs, cpuUs: ((mainThreadCpuMs() - cpu) * 1000) / trips };
}

async function raw() {
  const worker = new Worker(RAW_WORKER, { eval: true });
  let answered;
  worker.on('message', (value) => answered(value));
  try {
    return await measure(
      () =>
        new Promise((resolve) => {
          answered = resolve;
          worker.postMessage(1);
        }),
    );
  } finally {
    await worker.terminate();
  }
}

async function channel() {
  const worker = new Worker(CHANNEL_WORKER, { eval: true });
  const { port1, port2 } = new MessageChannel();
  worker.postMessage({ port: port2 }, [port2]);
  let answered;
  port1.on('message', (message) => answered(message.result));
  let taskId = 0;
  try {
    return await measure(
      () =>
        new Promise((resolve) => {
          answered = resolve;
          port1.postMessage({ task: 1, taskId: taskId++, filename: PISCINA_WORKER, name: 'default' });
        }),
    );
  } finally {
    port1.close();
    await worker.terminate();
  }
}

async function piscina() {
  const pool = new Piscina({
    filename: PISCINA_WORKER,
    minThreads: 2,
    maxThreads: 2,
    idleTimeout: Infinity,
    recordTiming: false,
  });
  try {
    return await measure(() => pool.run(1));
  } finally {
    await pool.destroy();
  }
}

const ways = { raw, channel, piscina };
const samples = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(ways)) samples[name].push(await run());
}
const fixed = (x) => Number(x.toFixed(1));
const summary = Object.fromEntries(
  Object.entries(samples).map(([name, runs]) => [
    name,
    {
      wallUsPerTrip: fixed(median(runs.map((r) => r.wallUs))),
      mainCpuUsPerTrip: fixed(median(runs.map((r) => r.cpuUs))),
    },
  ]),
);
console.log(JSON.stringify({ rounds, trips, summary, samples }, null, 2));
