#!/usr/bin/env node
// The issue-5 figures for process-pool and queue, against sequential and
// async, in one run: all four servers run side by side (idle ones cost
// nothing), and each figure is measured in ROUNDS interleaved rounds, the
// median kept, so that a burst of load from elsewhere on a shared machine
// skews one sample, not one strategy. Run it under
// `flock /tmp/fib-bench.lock`. Every load is bounded by --duration.
// Usage: node packages/server-queue/bench/measure.mjs [rounds, default 3] [seconds per sample, default 2]
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { median, startServer } from '../../../benchmarks/baselines/lib.mjs';

const require = createRequire(import.meta.url);
const bin = (pkg, name) => {
  const manifest = require.resolve(`${pkg}/package.json`);
  return join(dirname(manifest), require(manifest).bin[name]);
};
const ROUNDS = Number(process.argv[2] ?? 3);
const SECONDS = Number(process.argv[3] ?? 2);
const PERF1 = bin('@fib/perf', 'fib-perf1');
const PERF2 = bin('@fib/perf', 'fib-perf2');
const strategies = ['sequential', 'async', 'process-pool', 'queue'];
const WORKERS = { 'process-pool': ['--workers', '2'], queue: ['--workers', '2'] };

const startStrategy = (name) => startServer(bin(`@fib/server-${name}`, `fib-server-${name}`), WORKERS[name] ?? []);
function perf2(port, args) {
  const run = spawnSync(process.execPath, [PERF2, '--port', String(port), '--json', '--quiet', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  try {
    return JSON.parse(run.stdout).rate.mean;
  } catch {
    throw new Error(`perf2 ${args.join(' ')}: status ${run.status}: ${run.stdout} ${run.stderr}`);
  }
}
const servers = {};
for (const name of strategies) servers[name] = await startStrategy(name);
const samples = Object.fromEntries(strategies.map((s) => [s, { alone: [], convoy: [], fib27x4: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const name of strategies) {
    const { port } = servers[name];
    samples[name].alone.push(perf2(port, ['--duration', String(SECONDS), '--warmup', '0.5']));
    const bg = spawn(
      process.execPath,
      [PERF1, '--port', String(port), '--n', '30', '--duration', String(SECONDS + 2), '--quiet', '--json'],
      { stdio: 'ignore' },
    );
    await new Promise((res) => setTimeout(res, 300));
    samples[name].convoy.push(perf2(port, ['--duration', String(SECONDS)]));
    bg.kill('SIGINT');
    await new Promise((res) => bg.once('exit', res));
    samples[name].fib27x4.push(perf2(port, ['--n', '27', '--connections', '4', '--duration', String(SECONDS)]));
  }
}
for (const { child } of Object.values(servers)) child.kill('SIGTERM');
// Rates in answers per second; sequential's convoy figure is 0 (the fib(30) client holds its one slot).
const table = {};
for (const name of strategies) {
  const s = samples[name];
  table[name] = { alone: median(s.alone), convoy: median(s.convoy), fib27x4: median(s.fib27x4) };
}
for (const name of strategies) {
  const r = table[name];
  r.convoyRatio = +(r.convoy / r.alone).toFixed(2);
  r.aloneVsAsync = +(r.alone / table.async.alone).toFixed(2);
  r.fib27x4VsSequential = +(r.fib27x4 / table.sequential.fib27x4).toFixed(2);
}
console.table(table);
console.log(JSON.stringify({ rounds: ROUNDS, secondsPerSample: SECONDS, samples }));
