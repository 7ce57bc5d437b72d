// Helpers shared by the measurement scripts of this folder.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
const cClient = join(here, 'bin', 'perf2-baseline');

/** The built bin of a strategy package, e.g. `strategyBin('async')`. */
export const strategyBin = (name) => join(root, 'packages', `server-${name}`, 'dist', 'bin.js');
/** The built fib-perf1 or fib-perf2. */
export const perfBin = (tool) => join(root, 'packages', 'perf', 'dist', `${tool}.js`);
const perf2 = perfBin('perf2');

/**
 * Starts a server script with --port 0 and resolves with `{ child, port }` once
 * it prints its ready line. The server is killed if this script exits first.
 */
export function startServer(script, args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    process.on('exit', () => child.kill('SIGKILL'));
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not get ready in 10 s`)), 10_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on \S+:(\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/** fib-perf2's mean rate against `port`; throws if any request failed. */
export function runPerf2(port, extra, seconds) {
  const out = execFileSync(process.execPath, [
    perf2,
    '--port',
    String(port),
    '--duration',
    String(seconds),
    '--json',
    '--quiet',
    ...extra,
  ]);
  const result = JSON.parse(out);
  if (result.requests.failed > 0) throw new Error(`fib-perf2 saw failures: ${result.problems.join('; ')}`);
  return result.rate.mean;
}

/** The C client's rate (depth 1, one connection) against `port`. */
export function runC(port, seconds) {
  const out = execFileSync(cClient, ['--port', String(port), '--duration', String(seconds)]).toString();
  return Number(/: (\d+) reqs\/sec/.exec(out)[1]);
}

/** Milliseconds of CPU (user + system) the main thread of process `pid` has used, from /proc (Linux). */
export function mainThreadCpuMs(pid = process.pid) {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, fields 14 and 15 of proc(5), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export const sum = (xs) => xs.reduce((a, b) => a + b, 0);
export const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
export const fmt = (x) => Math.round(x).toLocaleString('en-US');
