// What one connection costs the strategies that give each connection a
// worker of its own (`npm run measure -- connections`): fib-server-thread (a
// thread per connection) and fib-server-fork (a process per connection).
// For each, N connections are opened one after the other and kept open idle:
//   - the time from connect to the first answer of `1` (the worker's start-up);
//   - the memory each connection adds: the thread server's RSS with N open
//     minus with none; for fork, the children's summed PSS (proportional set
//     size: pages shared with the parent counted once) over N.
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { delay, fixed, median, startScript, strategyBin } from './tools.js';

/** Before and after opening the connections: lets the servers' heaps and the kernel's accounting settle. */
const SETTLE_MS = 1_000;

export async function measureConnections({ connections }: { connections: number }): Promise<object> {
  return {
    connections,
    thread: await perStrategy('thread', connections, (pid) => rssKiB(pid)),
    fork: await perStrategy('fork', connections, (pid) => childrenPssKiB(pid)),
  };
}

async function perStrategy(name: string, count: number, memoryKiB: (pid: number) => number): Promise<object> {
  const server = await startScript(strategyBin(name));
  const sockets: Socket[] = [];
  try {
    await delay(SETTLE_MS);
    const before = memoryKiB(server.pid);
    const firstAnswerMs: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const socket = connect({ port: server.port, host: '127.0.0.1' });
      sockets.push(socket);
      await once(socket, 'connect');
      socket.write('1\n');
      await once(socket, 'data');
      firstAnswerMs.push(performance.now() - started);
    }
    await delay(SETTLE_MS);
    const after = memoryKiB(server.pid);
    return {
      connectToFirstAnswerMs: {
        p50: fixed(median(firstAnswerMs), 1),
        min: fixed(Math.min(...firstAnswerMs), 1),
        max: fixed(Math.max(...firstAnswerMs), 1),
      },
      memoryPerConnectionMiB: fixed((after - before) / count / 1024),
    };
  } finally {
    for (const socket of sockets) socket.destroy();
    await server.stop();
  }
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
}

/** The summed PSS of `pid`'s direct children, from /proc/<child>/smaps_rollup. */
function childrenPssKiB(pid: number): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The parent pid is the second field after the command's closing parenthesis.
      if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] !== String(pid)) continue;
      const pss = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${entry}/smaps_rollup`, 'utf8'));
      total += Number(pss?.[1] ?? 0);
    } catch {
      // the process ended while being read
    }
  }
  return total;
}
