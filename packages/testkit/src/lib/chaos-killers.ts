import { setTimeout as sleep } from 'node:timers/promises';
import { between, type ChaosLoad, type KillRecord, type Random, type Tracked } from './chaos-load.js';
import { FAULT_N, type ChaosTarget } from './chaos-targets.js';
import { children } from './processes.js';
import {
  handoverKill,
  killRecording,
  servingChildren,
  signal,
  startedWorkers,
  type KillerServer,
} from './chaos-victims.js';

/** How soon the killer looks again when no worker could be picked. */
const RETRY_MS = 50;

export interface KillerConfig {
  readonly load: ChaosLoad;
  readonly target: ChaosTarget;
  readonly server: KillerServer;
  /** Seconds between two kills, at random within [low, high]. */
  readonly killEvery: readonly [number, number];
  readonly random: Random;
  /** CPU ticks past which a worker process has finished starting (see startupTicks). */
  readonly startupTicks: number;
}

/** Kills a worker every `killEvery` seconds while the load runs, the way the target allows. */
export function killer(config: KillerConfig): Promise<void> {
  return config.target.kill === 'process' ? killProcesses(config) : killByFault(config);
}

/** The most steps a killer takes, whatever the clock says: each sleeps at least the shorter of its two waits. */
function maxSteps({ load, killEvery }: KillerConfig): number {
  return Math.ceil(load.durationMs / Math.min(RETRY_MS, killEvery[0] * 1000)) + 1;
}

const interval = ({ killEvery, random }: KillerConfig) => between(random, killEvery[0], killEvery[1]) * 1000;

/**
 * SIGKILLs a random child process of the server. Where connections live in
 * the workers, the victim is first stopped (SIGSTOP), so that the connections
 * it holds can be read from /proc without it taking a new one meanwhile, and
 * the load is told which client ports it (or the parent, for sockets in
 * transit) held.
 */
async function killProcesses(config: KillerConfig): Promise<void> {
  const { load, target, server, random } = config;
  let wait = interval(config);
  let handover = false;
  let previousHandover: KillRecord | null = null;
  for (let step = 0, bound = maxSteps(config); step < bound && load.running(); step++) {
    await sleep(wait);
    if (!load.running()) return;
    // Every other kill, where the target has handovers: one aimed at a handover, if a child is starting.
    handover = target.childPerConnection && !handover;
    const aimed: KillRecord | null = handover ? await handoverKill(server, load, previousHandover) : null;
    if (aimed !== null) {
      previousHandover = aimed;
      wait = interval(config);
      continue;
    }
    const workers = children(server.pid);
    const eligible = target.childPerConnection
      ? servingChildren(server, workers)
      : startedWorkers(workers, config.startupTicks);
    const victim = eligible[Math.floor(random() * eligible.length)];
    if (victim === undefined) {
      wait = RETRY_MS;
      continue;
    }
    let killed: boolean;
    if (target.socketsIn === 'worker') killed = killRecording(victim, workers, server, load) !== null;
    else {
      killed = signal(victim, 'SIGKILL');
      if (killed) load.recordKill(null);
    }
    wait = killed ? interval(config) : RETRY_MS;
  }
}

/**
 * Worker threads cannot be killed from outside: a killer connection sends
 * fib(FAULT_N), which the server was started to make fatal to the thread
 * computing it (and to its retry), and expects `ERR internal`. A new
 * connection each time, opened before the pause: a thread-per-connection
 * server starts the connection's thread meanwhile, so that only the retry's
 * thread start stands between the request and its answer.
 */
async function killByFault(config: KillerConfig): Promise<void> {
  const { load } = config;
  for (let step = 0, bound = maxSteps(config); step < bound && load.running(); step++) {
    const tracked: Tracked | null = await load.open('killer');
    await sleep(interval(config));
    if (tracked === null) continue;
    if (load.running() && !(await load.ask(tracked, [FAULT_N], true))) continue;
    load.close(tracked);
  }
}
