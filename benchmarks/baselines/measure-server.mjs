#!/usr/bin/env node
// The done-criteria measurement of the foundation (issue 2), in one run: what
// the protocol's safety costs a real server against the bare baselines.
//   1. depth 1, one connection: the server vs bare-net-server.mjs, each
//      measured with the C client (and with fib-perf2: the same client for both);
//   2. depth 64: the server vs line-server.mjs, with fib-perf2 --pipeline 64.
// Servers alternate round by round; each ratio is taken within a round (same
// conditions), and the figure is the median over rounds.
//
//   make -C benchmarks/baselines && npm run build
//   node benchmarks/baselines/measure-server.mjs [--server packages/server-async/dist/bin.js]
//        [--rounds 7] [--duration 2] [--depth 64]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fmt, here, median, root, runC, runPerf2, startServer } from './lib.mjs';

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: join(root, 'packages', 'server-async', 'dist', 'bin.js') },
    rounds: { type: 'string', default: '7' },
    duration: { type: 'string', default: '2' },
    depth: { type: 'string', default: '64' },
  },
});
const rounds = Number(values.rounds);
const seconds = values.duration;
const deep = ['--pipeline', values.depth, '--warmup', '0.5'];

const target = await startServer(values.server);
const bare = await startServer(join(here, 'bare-net-server.mjs'));
const line = await startServer(join(here, 'line-server.mjs'));
const rows = { c: [], perf2: [], deep: [] };
try {
  for (const server of [target, line]) runPerf2(server.port, ['--pipeline', '16'], '1');
  for (let i = 0; i < rounds; i++) {
    // Alternate which server goes first so that neither always runs second.
    const pair = (measure, a, b) => {
      if (i % 2 === 0) {
        const first = measure(a);
        return [first, measure(b)];
      }
      const second = measure(b);
      return [measure(a), second];
    };
    const [cServer, cBare] = pair((s) => runC(s.port, seconds), target, bare);
    const [pServer, pBare] = pair((s) => runPerf2(s.port, ['--warmup', '0.3'], seconds), target, bare);
    const [dServer, dLine] = pair((s) => runPerf2(s.port, deep, seconds), target, line);
    rows.c.push(cServer / cBare);
    rows.perf2.push(pServer / pBare);
    rows.deep.push(dServer / dLine);
    console.log(
      `round ${i + 1}: depth 1 (C) ${fmt(cServer)} vs bare ${fmt(cBare)} = ${(cServer / cBare).toFixed(3)}; ` +
        `depth 1 (fib-perf2) ${fmt(pServer)} vs bare ${fmt(pBare)} = ${(pServer / pBare).toFixed(3)}; ` +
        `depth ${values.depth} ${fmt(dServer)} vs line ${fmt(dLine)} = ${(dServer / dLine).toFixed(3)}`,
    );
  }
  const summary = {
    server: values.server,
    rounds,
    duration: Number(seconds),
    depth1VsBareNetWithC: median(rows.c),
    depth1VsBareNetWithPerf2: median(rows.perf2),
    deepVsLineServer: median(rows.deep),
    depth: Number(values.depth),
  };
  console.log(
    `median ratios: depth 1 vs bare net server ${summary.depth1VsBareNetWithC.toFixed(3)} (C client), ` +
      `${summary.depth1VsBareNetWithPerf2.toFixed(3)} (fib-perf2); depth ${values.depth} vs line server ${summary.deepVsLineServer.toFixed(3)}`,
  );
  console.log(JSON.stringify(summary));
} finally {
  for (const server of [target, bare, line]) server.child.kill();
}
