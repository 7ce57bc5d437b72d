#!/usr/bin/env node
// Measures, in one run, the figures issue 4 asks of the thread strategies
// (written into packages/server-thread/README.md and packages/server-pool/README.md):
//   - convoy ratio: fib-perf2 rate (n=1) while another client loops fib(30), over the rate alone;
//   - fib-server-pool's perf2 rate alone at depth 1 over fib-server-async's;
//   - total fib(27) answers/s with 4 connections, over fib-server-sequential's;
//   - fib-server-thread's memory per open idle connection (RSS with 100, minus with none, / 100).
// Every load is bounded by --duration; the machine is shared and noisy, so the
// servers are measured in turn, round after round, and each figure is the
// median of its rounds. Servers run on free ports and are stopped at the end.
// Run it after `npm run build`, alone on the machine's cores:
//   flock /tmp/fib-bench.lock node packages/server-pool/scripts/measure.mjs [--rounds 3] [--seconds 1.5]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { median, startServer as startBaseline } from '../../../benchmarks/baselines/lib.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const flag = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const seconds = flag('--seconds', 1.5);
const rounds = flag('--rounds', 3);
const WARMUP = '0.3';
const CONNECTIONS_FOR_MEMORY = 100;

const SERVERS = {
  sequential: ['packages/server-sequential/dist/bin.js'],
  async: ['packages/server-async/dist/bin.js'],
  thread: ['packages/server-thread/dist/bin.js'],
  pool: ['packages/server-pool/dist/bin.js', '--workers', '2'],
};

function startServer(name) {
  const [bin, ...args] = SERVERS[name];
  return startBaseline(root + bin, args);
}

async function stopServer({ child }) {
  child.kill('SIGTERM');
  if (child.exitCode === null) await once(child, 'exit');
}

/** Runs fib-perf1/2 with --json and returns its summary. */
async function perf(tool, port, args) {
  const child = spawn(process.execPath, [
    `${root}packages/perf/dist/${tool}.js`, '--port', String(port), '--json', '--quiet', ...args,
  ], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s) => (out += s));
  await once(child, 'exit');
  const line = out.split('\n').find((l) => l.startsWith('{'));
  return line ? JSON.parse(line) : { rate: { mean: 0 }, requests: { ok: 0 } };
}

const rate = (summary) => summary.rate.mean;

async function depth1(port) {
  return rate(await perf('perf2', port, ['--n', '1', '--duration', String(seconds), '--warmup', WARMUP]));
}

/** perf2's rate while another client loops fib(30) (perf1), started first and outlasting it. */
async function contended(port) {
  const heavy = perf('perf1', port, ['--n', '30', '--duration', String(seconds + 1)]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const value = await depth1(port);
  await heavy;
  return value;
}

async function fib27(port) {
  return rate(await perf('perf2', port, ['--n', '27', '--connections', '4', '--duration', String(seconds), '--warmup', WARMUP]));
}

function rssKiB(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

async function memoryPerConnection({ child, port }) {
  const settle = () => new Promise((resolve) => setTimeout(resolve, 1000));
  await settle();
  const before = rssKiB(child.pid);
  const sockets = [];
  for (let i = 0; i < CONNECTIONS_FOR_MEMORY; i++) {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setEncoding('latin1');
    await once(socket, 'connect');
    // One answer: the connection's thread is up and has run its code.
    socket.write('1\n');
    await once(socket, 'data');
    sockets.push(socket);
  }
  await settle();
  const after = rssKiB(child.pid);
  for (const socket of sockets) socket.destroy();
  return { beforeKiB: before, afterKiB: after, perConnectionKiB: (after - before) / CONNECTIONS_FOR_MEMORY };
}

const loadBefore = loadavg()[0];
const names = Object.keys(SERVERS);
const servers = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await startServer(name)])));
const samples = Object.fromEntries(names.map((name) => [name, { depth1: [], contended: [], fib27x4: [] }]));
try {
  for (let round = 0; round < rounds; round++) {
    // A different server goes first each round, so that drift in the machine's load spreads evenly.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const { port } = servers[name];
      if (name !== 'sequential') {
        samples[name].depth1.push(await depth1(port));
        samples[name].contended.push(await contended(port));
      }
      samples[name].fib27x4.push(await fib27(port));
    }
  }
} finally {
  await Promise.all(names.map((name) => stopServer(servers[name])));
}
// Memory last, on a fresh thread server: RSS with 100 idle connections, minus with none.
const fresh = await startServer('thread');
let memory;
try {
  memory = await memoryPerConnection(fresh);
} finally {
  await stopServer(fresh);
}
const medians = Object.fromEntries(names.map((name) => [name, {
  depth1: median(samples[name].depth1),
  contended: median(samples[name].contended),
  fib27x4: median(samples[name].fib27x4),
}]));
const fixed = (x, d = 2) => Number(x.toFixed(d));
const ratio = (a, b) => (b === 0 ? 0 : a / b);
const summary = {
  rounds,
  secondsPerSample: seconds,
  loadAverage: { before: fixed(loadBefore), after: fixed(loadavg()[0]) },
  convoyRatio: {
    thread: fixed(ratio(medians.thread.contended, medians.thread.depth1)),
    pool: fixed(ratio(medians.pool.contended, medians.pool.depth1)),
    async: fixed(ratio(medians.async.contended, medians.async.depth1), 4),
  },
  depth1OverAsync: {
    pool: fixed(ratio(medians.pool.depth1, medians.async.depth1)),
    thread: fixed(ratio(medians.thread.depth1, medians.async.depth1)),
  },
  fib27x4OverSequential: {
    thread: fixed(ratio(medians.thread.fib27x4, medians.sequential.fib27x4)),
    pool: fixed(ratio(medians.pool.fib27x4, medians.sequential.fib27x4)),
    async: fixed(ratio(medians.async.fib27x4, medians.sequential.fib27x4)),
  },
  threadMemoryPerConnectionMiB: fixed(memory.perConnectionKiB / 1024),
};
console.log(JSON.stringify({ summary, medians, samples, memory }, null, 2));
