import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChaosLoad, KillRecord } from './chaos-load.js';
import { ageMs, children, clientPortsHeld, cpuState } from './processes.js';

/** The server a killer works on. */
export interface KillerServer {
  readonly pid: number;
  readonly port: number;
}

/** Whether the signal was sent (false: the process was already gone). */
export function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILLs `victim`, a worker that holds connections, and tells the load
 * which client ports it held, and which the server's parent process held
 * without any other worker (sockets in transit, maybe to the victim). The
 * victim is stopped (SIGSTOP) while /proc is read, so that it cannot take a
 * connection between the reading and the kill; the parent is read again
 * just after the kill, for a connection it accepted and sent the stopped
 * victim meanwhile. Returns the kill's record, or null if the victim was
 * already gone.
 */
export function killRecording(
  victim: number,
  workers: readonly number[],
  server: KillerServer,
  load: ChaosLoad,
  handover = false,
): KillRecord | null {
  if (!signal(victim, 'SIGSTOP')) return null;
  const others = workers.filter((pid) => pid !== victim);
  let held: Map<number, Set<number>>;
  try {
    held = clientPortsHeld(server.port, [victim, server.pid, ...others]);
  } finally {
    // Never leave a worker stopped, whatever /proc said.
    signal(victim, 'SIGKILL');
  }
  const after = clientPortsHeld(server.port, [server.pid, ...others]);
  const inTransit = new Set([...held.get(server.pid)!, ...after.get(server.pid)!]);
  for (const map of [held, after]) {
    for (const [pid, ports] of map) {
      if (pid !== server.pid && pid !== victim) for (const port of ports) inTransit.delete(port);
    }
  }
  return load.recordKill({ pid: victim, handover, victim: held.get(victim)!, inTransit });
}

/**
 * CPU past the costliest start of the server's first workers, in clock
 * ticks (30 ms): start-up is the same work for every worker of a strategy
 * (20 to 24 ticks seen), so a worker that has used more has finished it.
 */
const STARTUP_MARGIN_TICKS = 3;

/**
 * The CPU ticks past which a worker process of this server has finished
 * starting, from its first `workers`, all ready (the server said so). A kill
 * is aimed at working workers only: one that dies before it is ready is a
 * start-up failure, which a supervisor may rightly treat as a crash loop.
 */
export function startupTicks(workers: readonly number[]): number {
  return Math.max(0, ...workers.map((pid) => cpuState(pid)?.ticks ?? 0)) + STARTUP_MARGIN_TICKS;
}

/** The workers among `workers` that have used more than `ticks` of CPU: they have finished starting. */
export function startedWorkers(workers: readonly number[], ticks: number): number[] {
  return workers.filter((pid) => (cpuState(pid)?.ticks ?? 0) >= ticks);
}

/** The children among `workers` that serve a connection (they have its socket). */
export function servingChildren(server: KillerServer, workers: readonly number[]): number[] {
  const held = clientPortsHeld(server.port, workers);
  return workers.filter((pid) => held.get(pid)!.size > 0);
}

/** A child younger than this that holds no connection yet is taken to be starting. */
const STARTING_MAX_AGE_MS = 3000;
/**
 * The server is paused for at most this long while the starting child
 * closest to ready finishes; if it has not, the kill is a random one
 * instead. A longer pause, added to the wait of the connections queued for
 * a child (a Node start-up is 200 to 800 ms on a busy 2-core machine), was
 * seen to push one past the 5 s hung bound.
 */
const PAUSE_MAX_MS = 500;
/** A child asleep with its CPU time unchanged for this long has finished starting and waits for its socket. */
const SETTLED_MS = 30;
/** How often the starting child is looked at (one /proc read each). */
const POLL_MS = 2;
/** Time the resumed server gets to read the child's ready message and send it its socket. */
const HANDOVER_MS = 100;
/** Long enough for a child given a connection whose child died to have started and taken it (see handoverKill). */
const REROUTE_MS = 2000;

/**
 * A kill aimed at the moment a connection is handed to a per-connection
 * child, which random kills hit too rarely to be relied on (a few ms in a
 * child's life): the server is paused (SIGSTOP) until a starting child has
 * finished starting and sits waiting for its socket; the child is stopped,
 * the server resumed, and once the server has had time to send the child its
 * socket, the child is killed (killRecording). The socket dies in transit.
 * A server may rightly give a connection whose child died a new child:
 * killing that one too, and the next, would only measure how fast children
 * start. So for REROUTE_MS after a handover kill (`previous`), only children
 * older than it are picked. Returns false, having killed nothing, when no
 * child was starting.
 */
export async function handoverKill(
  server: KillerServer,
  load: ChaosLoad,
  previous: KillRecord | null,
): Promise<KillRecord | null> {
  // The connections the previous one left in transit are answered or closed first.
  if (previous !== null && !load.settled(previous)) return null;
  const since = previous === null ? Infinity : performance.now() - previous.at;
  const starting = startingChild(server, since < REROUTE_MS ? since : 0);
  if (starting === undefined || !signal(server.pid, 'SIGSTOP')) return null;
  let caught = false;
  try {
    caught = (await untilSettled(starting)) && signal(starting, 'SIGSTOP');
  } finally {
    signal(server.pid, 'SIGCONT');
  }
  if (!caught) return null;
  await sleep(HANDOVER_MS);
  return killRecording(starting, children(server.pid), server, load, true);
}

/** The starting child at least `minAgeMs` old closest to the end of its start-up (the most CPU used), if any. */
function startingChild(server: KillerServer, minAgeMs: number): number | undefined {
  const young = children(server.pid).filter((pid) => {
    const age = ageMs(pid) ?? Infinity;
    return age >= minAgeMs && age < STARTING_MAX_AGE_MS;
  });
  const held = clientPortsHeld(server.port, young);
  let best: { pid: number; ticks: number } | undefined;
  for (const pid of young) {
    const ticks = cpuState(pid)?.ticks;
    if (held.get(pid)!.size > 0 || ticks === undefined) continue;
    if (best === undefined || ticks > best.ticks) best = { pid, ticks };
  }
  return best?.pid;
}

/** Whether `pid` came to sleep with its CPU time still for SETTLED_MS, within PAUSE_MAX_MS. */
async function untilSettled(pid: number): Promise<boolean> {
  const deadline = performance.now() + PAUSE_MAX_MS;
  let last = cpuState(pid);
  let stillSince = performance.now();
  while (last !== null && performance.now() < deadline) {
    await sleep(POLL_MS);
    const now = cpuState(pid);
    if (now === null) return false;
    if (now.state !== 'S' || now.ticks !== last.ticks) stillSince = performance.now();
    else if (performance.now() - stillSince >= SETTLED_MS) return true;
    last = now;
  }
  return false;
}
