#!/usr/bin/env node
// Fork start-up and memory: opens N connections one after the other (default 20), times each
// from connect to the first answer of `1`, then sums /proc/<child>/smaps_rollup over the children.
// Run from the repository root after `npm run build`, under `flock /tmp/fib-bench.lock`.
import { readFileSync, readdirSync } from 'node:fs';
import { FibClient } from '@fib/protocol';
import { startServer, strategyBin } from '../../../benchmarks/baselines/lib.mjs';
const N = Number(process.argv[2] ?? 20);
const { child: server, port } = await startServer(strategyBin('fork'));
const _t0 = performance.now();
const clients = [];
const firsts = [];
for (let i = 0; i < N; i++) {
  const t = performance.now();
  const c = await FibClient.connect({ port });
  await c.fib(1);
  firsts.push(performance.now() - t);
  clients.push(c);
}
const kids = readdirSync('/proc')
  .filter((p) => /^\d+$/.test(p))
  .filter((p) => {
    try {
      return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(server.pid);
    } catch {
      return false;
    }
  });
const sum = { Rss: 0, Pss: 0, Private_Clean: 0, Private_Dirty: 0 };
for (const k of kids)
  for (const line of readFileSync(`/proc/${k}/smaps_rollup`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m && m[1] in sum) sum[m[1]] += Number(m[2]);
  }
const per = Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, (v / kids.length / 1024).toFixed(1) + ' MiB']));
firsts.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    children: kids.length,
    perChild: per,
    connectToFirstAnswerMs: {
      p50: firsts[firsts.length >> 1].toFixed(1),
      min: firsts[0].toFixed(1),
      max: firsts.at(-1).toFixed(1),
    },
  }),
);
for (const c of clients) c.close();
server.kill('SIGTERM');
