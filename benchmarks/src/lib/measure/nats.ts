// The figures of fib-server-nats in one run (`npm run measure -- nats`):
//   1. side by side with sequential and async, and with a build of itself
//      that keeps the stream on file (the 'before' of memory storage), the
//      servers alternating within each round: the convoy ratio, depth-1
//      fib(1) rate over async, fib(27) over 4 connections over sequential,
//      4 connections x 64 pipelined over async, and the machine's own
//      ceiling for the fib(27) ratio (two plain node processes over one);
//   2. where the time goes, from the same samples: the CPU (user + system,
//      from /proc) the front-end, nats-server and the workers spend per
//      request at depth 1 and per fib(27) over 4 connections, against the
//      sequential server's CPU per fib(27); from it, the fib(27) ratio the
//      two cores allow at most;
//   3. chaos: a local worker SIGKILLed every 0.5 s under load (testkit's run);
//   4. a three-node NATS cluster (replicas 3) loses its stream leader under load.
// Local NATS and local workers throughout: --workers 2, the machine's two cores.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fib } from '@fib/core';
import { createNatsStarter, streamLeader } from '@fib/server-nats/testing';
import { CHAOS_TARGETS, RawClient, cpuTicks, descendants, runChaos, startBin, type ServerRun } from '@fib/testkit';
import { parallelCeiling } from './strategies.js';
import {
  besideFib30,
  delay,
  fixed,
  median,
  pairedRatio,
  perf,
  ratio,
  startScript,
  strategyBin,
  sum,
  type RunningServer,
} from './tools.js';

export interface NatsFiguresOptions {
  readonly rounds: number;
  readonly seconds: number;
  /** How long a worker is killed every 0.5 s (the figure: 30 s). */
  readonly chaosSeconds: number;
  readonly log: (line: string) => void;
}

/** Two local workers: one per core of the 2-core machine these figures come from. */
const WORKERS = ['--workers', '2'];
/** The servers measured side by side: the references first, then nats as shipped, then its file-storage build. */
const SERVERS: Readonly<Record<string, readonly string[]>> = {
  sequential: [],
  async: [],
  nats: WORKERS,
  'nats-file': [...WORKERS, '--storage', 'file'],
};
const NATS_SERVERS = ['nats', 'nats-file'];
/** Warm-up of each fib-perf2 run, in seconds: JIT and connection set-up stay out of the figure. */
const WARMUP = '0.3';
/** Pipelined load: 4 connections with 64 requests in flight each (the 4 x 64). */
const PIPELINED = ['--connections', '4', '--pipeline', '64'];
const FIB27X4 = ['--n', '27', '--connections', '4'];
/** The chaos figure: a kill every 0.5 s. */
const KILL_EVERY_S = 0.5;
const CHAOS_SEED = 15;
/** Requests per connection (4 connections) of the cluster run; the leader dies once a quarter is answered. */
const CLUSTER_REQUESTS = 400;
const CLUSTER_CONNECTIONS = 4;
/** 400 cheap requests take about a second here; a run that has not got that far by then kills the leader anyway. */
const CLUSTER_KILL_BY_MS = 30_000;
/** Clock ticks per second in /proc/<pid>/stat (USER_HZ). */
const TICKS_PER_SECOND = 100;

/** The processes of one server, by role, for where its CPU goes. */
type Roles = Record<'frontEnd' | 'natsServer' | 'workers', number[]>;

function programOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 2).join(' ');
  } catch {
    return '';
  }
}

function rolesOf(server: RunningServer): Roles {
  const below = descendants(server.pid);
  return {
    frontEnd: [server.pid],
    natsServer: below.filter((pid) => programOf(pid).includes('nats-server')),
    workers: below.filter((pid) => programOf(pid).includes('dist/worker.js')),
  };
}

/** Runs `sample` and returns its result with the CPU microseconds each role spent per request answered. */
async function withCpu(
  roles: Roles,
  sample: () => Promise<{ answered: number; rate: number }>,
): Promise<{ rate: number; cpuMicros: Record<string, number> }> {
  const ticks = () => Object.fromEntries(Object.entries(roles).map(([role, pids]) => [role, sum(pids.map(cpuTicks))]));
  const before = ticks();
  const { answered, rate } = await sample();
  const after = ticks();
  const cpuMicros = Object.fromEntries(
    Object.keys(roles).map((role) => [
      role,
      ratio(((after[role]! - before[role]!) / TICKS_PER_SECOND) * 1e6, answered),
    ]),
  );
  return { rate, cpuMicros };
}

/** One fib-perf2 run: its rate, and the requests answered (warm-up included, as the CPU counts it). */
async function perf2(port: number, args: readonly string[], seconds: number) {
  const result = await perf('perf2', port, [...args, '--duration', String(seconds), '--warmup', WARMUP]);
  if (result.requests.failed > 0) throw new Error(`fib-perf2 ${args.join(' ')}: ${result.problems.join('; ')}`);
  return { rate: result.rate.mean, answered: result.requests.ok + result.warmup.ok };
}

interface Samples {
  depth1: number[];
  contended: number[];
  fib27x4: number[];
  pipelined: number[];
  depth1Cpu: Record<string, number>[];
  fib27x4Cpu: Record<string, number>[];
}

async function sideBySide(rounds: number, seconds: number, log: (line: string) => void) {
  const names = Object.keys(SERVERS);
  const servers = new Map<string, RunningServer>();
  const samples = new Map<string, Samples>(
    names.map((name) => [
      name,
      { depth1: [], contended: [], fib27x4: [], pipelined: [], depth1Cpu: [], fib27x4Cpu: [] },
    ]),
  );
  const ceiling: number[] = [];
  try {
    for (const name of names) servers.set(name, await startScript(strategyBin(name.split('-')[0]!), SERVERS[name]));
    for (let round = 0; round < rounds; round++) {
      log(`round ${round + 1} of ${rounds}, load average ${loadavg()[0]!.toFixed(2)}`);
      for (const name of names.map((_, i) => names[(i + round) % names.length]!)) {
        const server = servers.get(name)!;
        const s = samples.get(name)!;
        const roles = rolesOf(server);
        // The sequential server serves one connection at a time: only its fib(27) rate is a reference.
        if (name !== 'sequential') {
          const depth1 = await withCpu(roles, () => perf2(server.port, [], seconds));
          s.depth1.push(depth1.rate);
          s.depth1Cpu.push(depth1.cpuMicros);
          s.pipelined.push((await perf2(server.port, PIPELINED, seconds)).rate);
        }
        if (NATS_SERVERS.includes(name)) {
          s.contended.push(
            await besideFib30(server.port, seconds, async () => (await perf2(server.port, [], seconds)).rate),
          );
        }
        const e4 = await withCpu(roles, () => perf2(server.port, FIB27X4, seconds));
        s.fib27x4.push(e4.rate);
        s.fib27x4Cpu.push(e4.cpuMicros);
      }
      ceiling.push(await parallelCeiling(seconds));
    }
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
  }
  return { samples, ceiling };
}

/** The median of each role's CPU per request over the rounds, rounded to microseconds. */
function medianCpu(rows: readonly Record<string, number>[]): Record<string, number> {
  const roles = Object.keys(rows[0] ?? {});
  return Object.fromEntries(roles.map((role) => [role, Math.round(median(rows.map((row) => row[role]!)))]));
}

async function chaos(seconds: number) {
  const nats = createNatsStarter();
  try {
    const node = await nats.single();
    // NATS apart (FIB_NATS), so that the server's children are its workers only, as the run counts them.
    const target = { ...CHAOS_TARGETS.queue, pkg: '@fib/server-nats', bin: 'fib-server-nats' };
    const server = await startBin(target.pkg, target.bin, WORKERS, { FIB_NATS: node.url });
    const report = await runChaos(server, target, {
      seconds,
      killEvery: [KILL_EVERY_S, KILL_EVERY_S],
      workers: 2,
      seed: CHAOS_SEED,
    });
    const f = report.figures;
    return {
      seconds,
      kills: f.kills,
      requests: f.requests,
      answered: f.answered,
      errInternal: f.errInternal,
      // Neither its fib nor ERR internal (the retry rule's answer): lost.
      lost: f.requests - f.answered - f.errInternal,
      hung: f.hung,
      wrong: f.wrong,
      cut: f.cut,
      failedChecks: report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
    };
  } finally {
    await nats.stopAll();
  }
}

async function clusterNodeLoss(log: (line: string) => void) {
  const nats = createNatsStarter();
  let server: ServerRun | undefined;
  try {
    const nodes = await nats.cluster(3);
    const urls = nodes.map((node) => node.url).join(',');
    server = await startBin('@fib/server-nats', 'fib-server-nats', ['--nats', urls, '--replicas', '3', ...WORKERS]);
    const port = server.port;
    const clients = await Promise.all(Array.from({ length: CLUSTER_CONNECTIONS }, () => RawClient.connect(port)));
    const outcomes = { ok: 0, err: 0, wrong: 0, unanswered: 0 };
    let answered = 0;
    const loads = clients.map(async (client, c) => {
      for (let i = 0; i < CLUSTER_REQUESTS; i++) {
        const n = 15 + ((i + c) % 8);
        const line = await client.ask(String(n)).catch(() => null);
        answered++;
        if (line === null) outcomes.unanswered++;
        else if (line.startsWith('ERR')) outcomes.err++;
        else if (line === String(fib(n))) outcomes.ok++;
        else outcomes.wrong++;
      }
    });
    // The leader dies once the load flows: a quarter answered, or after CLUSTER_KILL_BY_MS whatever the count.
    const deadline = Date.now() + CLUSTER_KILL_BY_MS;
    while (answered < CLUSTER_REQUESTS && Date.now() < deadline) await delay(20);
    const leader = await streamLeader(nodes[0]!.url);
    const victim = nodes.find((node) => node.name === leader) ?? nodes[0]!;
    log(`cluster: SIGKILL to ${victim.name} (the stream leader: ${leader}) after ${answered} answers`);
    await victim.kill('SIGKILL');
    await Promise.all(loads);
    for (const client of clients) client.end();
    const requests = CLUSTER_REQUESTS * CLUSTER_CONNECTIONS;
    return {
      killed: victim.name,
      wasLeader: victim.name === leader,
      requests,
      ...outcomes,
      lost: requests - outcomes.ok,
    };
  } finally {
    await server?.stop('SIGTERM');
    await nats.stopAll();
  }
}

export async function measureNats(options: NatsFiguresOptions): Promise<object> {
  const { rounds, seconds, chaosSeconds, log } = options;
  const started = { at: new Date().toISOString(), loadAverage: loadavg().map((x) => fixed(x)), cpus: cpus().length };
  const { samples, ceiling } = await sideBySide(rounds, seconds, log);
  const of = (name: string) => samples.get(name)!;
  const byNats = <T>(value: (name: string) => T) => Object.fromEntries(NATS_SERVERS.map((name) => [name, value(name)]));
  // Where a fib(27) goes: each role's CPU per fib(27), and what two cores allow.
  const sequentialCpu = median(of('sequential').fib27x4Cpu.map((row) => row.frontEnd!));
  const fib27 = byNats((name) => {
    const cpu = medianCpu(of(name).fib27x4Cpu);
    const total = sum(Object.values(cpu));
    return {
      cpuMicrosPerFib27: cpu,
      totalCpuMicros: total,
      // Two cores' worth of CPU a second, over this much per fib(27), against the sequential server's rate.
      cpuBoundRatio: fixed(ratio(2 * sequentialCpu, total)),
    };
  });
  log('side by side done; chaos');
  const chaosFigures = await chaos(chaosSeconds);
  log(`chaos: ${JSON.stringify(chaosFigures)}; cluster`);
  const cluster = await clusterNodeLoss(log);
  return {
    figures: 'nats',
    started,
    ended: { at: new Date().toISOString(), loadAverage: loadavg().map((x) => fixed(x)) },
    rounds,
    secondsPerSample: seconds,
    convoyRatio: byNats((name) => fixed(pairedRatio(of(name).contended, of(name).depth1))),
    fib27x4OverSequential: byNats((name) => fixed(pairedRatio(of(name).fib27x4, of('sequential').fib27x4))),
    depth1OverAsync: byNats((name) => fixed(pairedRatio(of(name).depth1, of('async').depth1), 3)),
    pipelinedOverAsync: byNats((name) => fixed(pairedRatio(of(name).pipelined, of('async').pipelined), 3)),
    memoryOverFile: {
      depth1: fixed(pairedRatio(of('nats').depth1, of('nats-file').depth1)),
      fib27x4: fixed(pairedRatio(of('nats').fib27x4, of('nats-file').fib27x4)),
      pipelined: fixed(pairedRatio(of('nats').pipelined, of('nats-file').pipelined)),
    },
    parallelCeiling: fixed(median(ceiling)),
    parallelCeilingPerRound: ceiling.map((x) => fixed(x)),
    whereTheTimeGoes: {
      depth1: byNats((name) => ({
        wallMicrosPerRequest: Math.round(1e6 / median(of(name).depth1)),
        cpuMicrosPerRequest: medianCpu(of(name).depth1Cpu),
      })),
      asyncDepth1CpuMicrosPerRequest: Math.round(median(of('async').depth1Cpu.map((row) => row.frontEnd!))),
      sequentialCpuMicrosPerFib27: Math.round(sequentialCpu),
      fib27x4: fib27,
    },
    // Rates (per second) of what each server was measured on.
    medians: Object.fromEntries(
      [...samples].map(([name, s]) => [
        name,
        Object.fromEntries(
          (['depth1', 'contended', 'fib27x4', 'pipelined'] as const)
            .filter((key) => s[key].length > 0)
            .map((key) => [key, Math.round(median(s[key]))]),
        ),
      ]),
    ),
    chaos: chaosFigures,
    cluster,
  };
}
