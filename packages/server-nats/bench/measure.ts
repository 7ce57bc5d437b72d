#!/usr/bin/env node
// The figures of issue 15 for fib-server-nats, in one run (run it alone:
// `flock /tmp/fib-bench.lock node --import tsx packages/server-nats/bench/measure.ts [rounds] [seconds]`
// from the repository root, after `npm run build`):
//  1. sequential, async and nats (embedded nats-server, --workers 2) side by
//     side; in each of ROUNDS rounds, alternating servers: perf2 depth 1
//     alone (A), while another client loops fib(30) (B), fib(27) over 4
//     connections, and perf2 4 connections x 64 pipelined. Medians of the
//     per-round ratios.
//  2. the chaos run: a local worker SIGKILLed every 0.5 s for 30 s under load;
//  3. a three-node NATS cluster (replicas 3) loses its stream leader under load.
// Prints one JSON object on stdout; progress on stderr. Every load is bounded.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { RawClient, binPath, descendants, runChaos, startBin, CHAOS_TARGETS, type ServerRun } from '@fib/testkit';
import { fib } from '@fib/core';
import { createNatsStarter } from '../test/helpers/nats-servers.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const SECONDS = Number(process.argv[3] ?? 2);
const PERF1 = binPath('@fib/perf', 'fib-perf1');
const PERF2 = binPath('@fib/perf', 'fib-perf2');
/** Two local workers: one per core of the 2-core machine these figures come from. */
const WORKERS = 2;
/** The figure: a worker SIGKILLed every 0.5 s for 30 s (CHAOS_SECONDS shortens it for a trial run). */
const CHAOS_SECONDS = Number(process.env.CHAOS_SECONDS ?? 30);
const CLUSTER_REQUESTS_PER_CONNECTION = 400;
const log = (line: string) => process.stderr.write(`measure: ${line}\n`);

function perf2(port: number, args: readonly string[]): number {
  const run = spawnSync(process.execPath, [PERF2, '--port', String(port), '--json', '--quiet', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  try {
    return (JSON.parse(run.stdout) as { rate: { mean: number } }).rate.mean;
  } catch {
    throw new Error(`perf2 ${args.join(' ')}: status ${run.status}: ${run.stdout} ${run.stderr}`);
  }
}

async function convoy(port: number): Promise<number> {
  const heavy = spawn(
    process.execPath,
    [PERF1, '--port', String(port), '--n', '30', '--duration', String(SECONDS + 3), '--quiet', '--json'],
    { stdio: 'ignore' },
  );
  // The fib(30) loop is on before perf2 starts measuring.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rate = perf2(port, ['--duration', String(SECONDS)]);
  heavy.kill('SIGINT');
  await once(heavy, 'exit');
  return rate;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const round2 = (value: number) => Math.round(value * 100) / 100;

async function sideBySide() {
  const servers: Record<string, ServerRun> = {
    sequential: await startBin('@fib/server-sequential', 'fib-server-sequential'),
    async: await startBin('@fib/server-async', 'fib-server-async'),
    nats: await startBin('@fib/server-nats', 'fib-server-nats', ['--workers', String(WORKERS)]),
  };
  const names = Object.keys(servers);
  const samples: Record<string, { a: number[]; b: number[]; e4: number[]; p: number[] }> = {};
  for (const name of names) samples[name] = { a: [], b: [], e4: [], p: [] };
  const ratios = { convoy: [] as number[], depth1: [] as number[], fib27x4: [] as number[], pipelined: [] as number[] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      log(`round ${round + 1} of ${ROUNDS}, load average ${loadavg()[0]!.toFixed(1)}`);
      for (const name of names) {
        const { port } = servers[name]!;
        const s = samples[name]!;
        s.a.push(perf2(port, ['--duration', String(SECONDS), '--warmup', '0.5']));
        s.b.push(name === 'sequential' ? 0 : await convoy(port));
        s.e4.push(perf2(port, ['--n', '27', '--connections', '4', '--duration', String(SECONDS)]));
        s.p.push(
          name === 'sequential'
            ? 0
            : perf2(port, ['--connections', '4', '--pipeline', '64', '--duration', String(SECONDS), '--warmup', '0.5']),
        );
      }
      const nats = samples.nats!;
      ratios.convoy.push(nats.b[round]! / nats.a[round]!);
      ratios.depth1.push(nats.a[round]! / samples.async!.a[round]!);
      ratios.fib27x4.push(nats.e4[round]! / samples.sequential!.e4[round]!);
      ratios.pipelined.push(nats.p[round]! / samples.async!.p[round]!);
    }
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop('SIGTERM')));
  }
  return {
    ratios: Object.fromEntries(Object.entries(ratios).map(([key, values]) => [key, round2(median(values))])),
    perRound: Object.fromEntries(Object.entries(ratios).map(([key, values]) => [key, values.map(round2)])),
    samples,
  };
}

/** CPU time of a process in clock ticks (utime + stime, its threads included); 0 once gone. */
function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 2).join(' ');
  } catch {
    return '';
  }
}

/** Clock ticks per second (USER_HZ), as /proc counts CPU time. */
const TICKS_PER_SECOND = 100;

/**
 * Where a depth-1 request's time goes: the CPU each process of the path
 * spends per request (front-end, nats-server, the workers), against the
 * wall time per request, during one perf2 run of 4 x SECONDS.
 */
async function anatomy() {
  const server = await startBin('@fib/server-nats', 'fib-server-nats', ['--workers', String(WORKERS)]);
  try {
    const pids = descendants(server.pid);
    const groups: Record<string, number[]> = {
      frontEnd: [server.pid],
      natsServer: pids.filter((pid) => commandOf(pid).includes('nats-server')),
      workers: pids.filter((pid) => commandOf(pid).includes('dist/worker.js')),
    };
    perf2(server.port, ['--duration', '1']); // warm-up
    const before = Object.fromEntries(Object.entries(groups).map(([k, g]) => [k, g.map(cpuTicks)]));
    const seconds = SECONDS * 4;
    const rate = perf2(server.port, ['--duration', String(seconds)]);
    const requests = rate * seconds;
    const usPerRequest: Record<string, number> = {};
    for (const [key, group] of Object.entries(groups)) {
      const ticks = group.reduce((sum, pid, i) => sum + cpuTicks(pid) - before[key]![i]!, 0);
      usPerRequest[key] = Math.round(((ticks / TICKS_PER_SECOND) * 1e6) / requests);
    }
    return { rate, wallUsPerRequest: Math.round(1e6 / rate), cpuUsPerRequest: usPerRequest };
  } finally {
    await server.stop('SIGTERM');
  }
}

async function chaos() {
  const nats = createNatsStarter();
  try {
    const node = await nats.single();
    // NATS apart, so that the server's children are its workers only, as the run counts them.
    const target = { ...CHAOS_TARGETS.queue, pkg: '@fib/server-nats', bin: 'fib-server-nats' };
    const server = await startBin(target.pkg, target.bin, ['--workers', String(WORKERS)], { FIB_NATS: node.url });
    const report = await runChaos(server, target, {
      seconds: CHAOS_SECONDS,
      killEvery: [0.5, 0.5],
      workers: WORKERS,
      seed: 15,
    });
    const f = report.figures;
    return {
      kills: f.kills,
      requests: f.requests,
      answered: f.answered,
      errInternal: f.errInternal,
      lost: f.requests - f.answered - f.errInternal,
      hung: f.hung,
      wrong: f.wrong,
      failedChecks: report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
    };
  } finally {
    await nats.stopAll();
  }
}

async function clusterNodeLoss() {
  const nats = createNatsStarter();
  let server: ServerRun | undefined;
  try {
    const nodes = await nats.cluster(3);
    server = await startBin('@fib/server-nats', 'fib-server-nats', [
      '--nats',
      nodes.map((node) => node.url).join(','),
      '--replicas',
      '3',
      '--workers',
      String(WORKERS),
    ]);
    const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(server!.port)));
    let answered = 0;
    const outcomes = { ok: 0, err: 0, wrong: 0, unanswered: 0 };
    const loads = clients.map(async (client, c) => {
      for (let i = 0; i < CLUSTER_REQUESTS_PER_CONNECTION; i++) {
        const n = 15 + ((i + c) % 8);
        const line = await client.ask(String(n)).catch(() => undefined);
        answered++;
        if (line === undefined || line === null) outcomes.unanswered++;
        else if (line.startsWith('ERR')) outcomes.err++;
        else if (line === String(fib(n))) outcomes.ok++;
        else outcomes.wrong++;
      }
    });
    while (answered < CLUSTER_REQUESTS_PER_CONNECTION) await new Promise((resolve) => setTimeout(resolve, 20));
    const { connect } = await import('@nats-io/transport-node');
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const nc = await connect({ servers: nodes[0]!.url });
    const leader = (await (await jetstreamManager(nc)).streams.info('FIB_JOBS')).cluster?.leader;
    await nc.close();
    const victim = nodes.find((node) => node.name === leader) ?? nodes[0]!;
    log(`cluster: killing ${victim.name} (stream leader ${leader}) after ${answered} answers`);
    await victim.kill('SIGKILL');
    await Promise.all(loads);
    for (const client of clients) client.end();
    const total = CLUSTER_REQUESTS_PER_CONNECTION * clients.length;
    return { killed: victim.name, requests: total, ...outcomes, lost: total - outcomes.ok };
  } finally {
    await server?.stop('SIGKILL');
    await nats.stopAll();
  }
}

const started = { load: loadavg().map(round2), cpus: cpus().length, at: new Date().toISOString() };
log(`rounds ${ROUNDS}, ${SECONDS} s per sample; load average ${started.load.join(' ')}`);
const figures = await sideBySide();
log(`side by side: ${JSON.stringify(figures.ratios)}`);
const depth1 = await anatomy();
log(`depth-1 anatomy: ${JSON.stringify(depth1)}`);
const chaosFigures = await chaos();
log(`chaos: ${JSON.stringify(chaosFigures)}`);
const cluster = await clusterNodeLoss();
log(`cluster: ${JSON.stringify(cluster)}`);
console.log(
  JSON.stringify({
    started,
    ended: { load: loadavg().map(round2), at: new Date().toISOString() },
    rounds: ROUNDS,
    secondsPerSample: SECONDS,
    ...figures,
    depth1,
    chaos: chaosFigures,
    cluster,
  }),
);
