#!/usr/bin/env node
// The issue-5 figures for cluster and fork, against sequential and async, in
// one run: run it under `flock /tmp/fib-bench.lock` so that no other
// measurement shares the two cores. Every load is bounded by --duration.
// Usage: node packages/server-cluster/bench/measure.mjs [seconds per figure, default 3]
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { startServer } from '../../../benchmarks/baselines/lib.mjs';

const require = createRequire(import.meta.url);
const SECONDS = Number(process.argv[2] ?? 3);
const bin = (pkg, name) => {
  const manifest = require.resolve(`${pkg}/package.json`);
  return join(dirname(manifest), require(manifest).bin[name]);
};
const PERF1 = bin('@fib/perf', 'fib-perf1');
const PERF2 = bin('@fib/perf', 'fib-perf2');

async function startStrategy(name, args = []) {
  const { child, port } = await startServer(bin(`@fib/server-${name}`, `fib-server-${name}`), args);
  return {
    port,
    stop: () =>
      new Promise((r) => {
        child.once('exit', r);
        child.kill('SIGTERM');
      }),
  };
}

function perf(tool, port, args) {
  const out = execFileSync(process.execPath, [tool, '--port', String(port), '--json', '--quiet', ...args], {
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

/** perf2's mean rate while `background` (perf1 looping fib(30)) runs beside it. */
async function withBackground(port, measure) {
  const heavy = spawn(
    process.execPath,
    [PERF1, '--port', String(port), '--n', '30', '--duration', String(SECONDS + 2), '--quiet', '--json'],
    { stdio: 'ignore' },
  );
  await new Promise((r) => setTimeout(r, 500));
  try {
    return measure();
  } finally {
    heavy.kill('SIGTERM');
  }
}

const figures = {};
const strategies = [
  ['sequential', []],
  ['async', []],
  ['cluster', ['--workers', '2']],
  ['fork', []],
];
for (const [name, args] of strategies) {
  const server = await startStrategy(name, args);
  try {
    const f = {};
    const d = ['--duration', String(SECONDS), '--warmup', '0.5'];
    f.perf2Alone = perf(PERF2, server.port, d).rate.mean;
    if (name !== 'sequential') {
      f.perf2WithFib30 = await withBackground(server.port, () => perf(PERF2, server.port, d).rate.mean);
      f.convoyRatio = +(f.perf2WithFib30 / f.perf2Alone).toFixed(2);
    }
    f.fib27x4 = perf(PERF2, server.port, ['--n', '27', '--connections', '4', ...d]).rate.mean;
    f.perf2x8 = perf(PERF2, server.port, ['--connections', '8', ...d]).rate.mean;
    figures[name] = f;
  } finally {
    await server.stop();
  }
}
const ratio = (a, b) => +(a / b).toFixed(2);
const summary = {
  convoy: Object.fromEntries(['async', 'cluster', 'fork'].map((s) => [s, figures[s].convoyRatio])),
  fib27x4VsSequential: Object.fromEntries(
    ['async', 'cluster', 'fork'].map((s) => [s, ratio(figures[s].fib27x4, figures.sequential.fib27x4)]),
  ),
  perf2x8ClusterVsAsync: ratio(figures.cluster.perf2x8, figures.async.perf2x8),
};
console.log(JSON.stringify({ secondsPerFigure: SECONDS, figures, summary }, null, 2));
