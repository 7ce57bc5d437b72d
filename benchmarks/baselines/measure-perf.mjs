#!/usr/bin/env node
// The done-criteria measurement of fib-perf (issue 3), in one run:
//   1. depth 1: fib-perf2 --connections 1 --pipeline 1 vs the C client
//      (bin/perf2-baseline) against the same server, alternating, paired per round;
//   2. depth 64: fib-perf2 --pipeline 64 against that server and against
//      line-server.mjs (the bare line server), alternating.
// The machine is shared and noisy, so each figure is the median of --rounds
// runs, and ratios are taken within a round (same conditions) before the median.
//
//   make -C benchmarks/baselines && npm run build
//   node benchmarks/baselines/measure-perf.mjs [--server packages/server-async/dist/bin.js]
//        [--rounds 5] [--duration 3] [--depth 64] [--connections 1]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fmt, here, median, runC as runCFor, runPerf2 as runPerf2For, startServer, sum } from './lib.mjs';

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: join(here, 'line-server.mjs') },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '3' },
    depth: { type: 'string', default: '64' },
    connections: { type: 'string', default: '1' },
  },
});
const rounds = Number(values.rounds);
const duration = values.duration;
const runPerf2 = (port, extra, seconds = duration) => runPerf2For(port, extra, seconds);
const runC = (port) => runCFor(port, duration);

const target = await startServer(values.server);
const line = await startServer(join(here, 'line-server.mjs'));
try {
  // Let both servers' JIT warm up before anything is measured.
  for (const server of [target, line]) runPerf2(server.port, ['--pipeline', '16'], '1');
  const depth1 = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate which client goes first so that neither always gets the warmer server.
    const [c, node] =
      i % 2 === 0
        ? [runC(target.port), runPerf2(target.port, ['--warmup', '0.5'])]
        : [runPerf2(target.port, ['--warmup', '0.5']), runC(target.port)].reverse();
    depth1.push({ c, node, ratio: node / c });
    console.log(`depth 1, round ${i + 1}: C ${fmt(c)}/s, fib-perf2 ${fmt(node)}/s, ratio ${(node / c).toFixed(3)}`);
  }
  const deep = [];
  const flags = ['--pipeline', values.depth, '--connections', values.connections, '--warmup', '0.5'];
  for (let i = 0; i < rounds; i++) {
    const server = runPerf2(target.port, flags);
    const bare = runPerf2(line.port, flags);
    deep.push({ server, bare, ratio: server / bare });
    console.log(
      `depth ${values.depth}, round ${i + 1}: server ${fmt(server)}/s, line-server ${fmt(bare)}/s, ratio ${(server / bare).toFixed(3)}`,
    );
  }
  const summary = {
    server: values.server,
    duration: Number(duration),
    rounds,
    depth1: {
      c: median(depth1.map((r) => r.c)),
      perf2: median(depth1.map((r) => r.node)),
      ratio: median(depth1.map((r) => r.ratio)),
      // Less sensitive to one round's hiccup than a median over few rounds: all answers over all time.
      ratioOfTotals: sum(depth1.map((r) => r.node)) / sum(depth1.map((r) => r.c)),
    },
    deep: {
      depth: Number(values.depth),
      connections: Number(values.connections),
      server: median(deep.map((r) => r.server)),
      lineServer: median(deep.map((r) => r.bare)),
      ratio: median(deep.map((r) => r.ratio)),
    },
  };
  console.log(
    `median depth 1: fib-perf2 / C = ${summary.depth1.ratio.toFixed(3)} (${fmt(summary.depth1.perf2)} vs ${fmt(summary.depth1.c)} answers/s; ratio of totals ${summary.depth1.ratioOfTotals.toFixed(3)})`,
  );
  console.log(
    `median depth ${values.depth}: ${fmt(summary.deep.server)} answers/s, ${summary.deep.ratio.toFixed(3)} of line-server's ${fmt(summary.deep.lineServer)}`,
  );
  console.log(JSON.stringify(summary));
} finally {
  target.child.kill();
  line.child.kill();
}
