import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { until } from './until.js';

/** The parent pid of every live process, read from /proc (Linux). */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') map.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  return map;
}

/** Every live (non-zombie) descendant of `pid`. */
export function descendants(pid: number): number[] {
  const map = parents();
  const found: number[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [child, ppid] of map) {
      if (ppid === parent) {
        found.push(child);
        frontier.push(child);
      }
    }
  }
  return found;
}

/** Whether a process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Polls until every pid is gone, or throws after `timeoutMs`. */
export async function waitGone(pids: readonly number[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes still alive after ${timeoutMs} ms: ${alive.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The live (non-zombie) direct children of `pid`. */
export function children(pid: number): number[] {
  const found: number[] = [];
  for (const [child, ppid] of parents()) if (ppid === pid) found.push(child);
  return found;
}

/** How many threads `pid` runs (Linux: /proc/<pid>/task); 0 once it is gone. */
export function threadCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return 0;
  }
}

/** A process's scheduler state (R running, S sleeping, ...) and the CPU it has used, in clock ticks; null once gone. */
export function cpuState(pid: number): { state: string; ticks: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), counted from the state (field 3) here.
    return { state: fields[0]!, ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

/** CPU time a process has used, threads included, in clock ticks; 0 once it is gone. */
export function cpuTicks(pid: number): number {
  return cpuState(pid)?.ticks ?? 0;
}

/** 0.2 s of CPU (at the usual 100 ticks a second): more than a server or a worker spends on anything but a big fib. */
const BUSY_TICKS = 20;

/**
 * Resolves once one of `pids` has computed for 0.2 s of CPU more than now: a
 * request for a big fib has reached whoever computes it, without guessing how
 * long that takes on a loaded machine.
 */
export async function untilOneComputes(pids: readonly number[], what = 'a worker is computing'): Promise<void> {
  const before = pids.map(cpuTicks);
  await until(() => pids.some((pid, i) => cpuTicks(pid) - before[i]! >= BUSY_TICKS), what);
}

/** Clock ticks per second in /proc/<pid>/stat: USER_HZ, 100 on every Linux the tests run on. */
const TICKS_PER_SECOND = 100;

/** How long ago `pid` started, in ms, or null once it is gone (Linux: /proc/<pid>/stat and /proc/uptime). */
export function ageMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // starttime is field 22 of stat(5), counted from the state (field 3) here.
    const started = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) / TICKS_PER_SECOND;
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return Math.max(0, (uptime - started) * 1000);
  } catch {
    return null;
  }
}

/** The inodes of the sockets `pid` has open. */
function socketInodes(pid: number): string[] {
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const inodes: string[] = [];
  for (const fd of fds) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode !== undefined) inodes.push(inode);
    } catch {
      // The descriptor closed while we looked.
    }
  }
  return inodes;
}

/** The client port of every open TCP connection to local `port`, by its server-side socket inode. */
function clientPortsByInode(port: number): Map<string, number> {
  const byInode = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const fields = row.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const localPort = parseInt(fields[1]!.split(':')[1]!, 16);
      // Inode 0: a connection no process holds any more (TIME_WAIT and the like).
      if (localPort === port && fields[9] !== '0') byInode.set(fields[9]!, parseInt(fields[2]!.split(':')[1]!, 16));
    }
  }
  return byInode;
}

/**
 * The client ports of the TCP connections to local port `port` whose server
 * side each of `pids` holds (Linux: /proc/<pid>/fd and /proc/net/tcp*). A
 * socket being passed between processes is held by both for a while.
 */
export function clientPortsHeld(port: number, pids: readonly number[]): Map<number, Set<number>> {
  const byInode = clientPortsByInode(port);
  const held = new Map<number, Set<number>>();
  for (const pid of pids) {
    const ports = new Set<number>();
    for (const inode of socketInodes(pid)) {
      const clientPort = byInode.get(inode);
      if (clientPort !== undefined) ports.add(clientPort);
    }
    held.set(pid, ports);
  }
  return held;
}

/**
 * Which of `pids` holds the server side of each TCP connection to local port
 * `port`, keyed by the client's port (the last of `pids` holding it).
 * Lets a test know which worker process serves which of its connections.
 */
export function connectionOwners(port: number, pids: readonly number[]): Map<number, number> {
  const owners = new Map<number, number>();
  for (const [pid, ports] of clientPortsHeld(port, pids)) for (const clientPort of ports) owners.set(clientPort, pid);
  return owners;
}
