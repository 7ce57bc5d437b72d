// Helpers of measure-metrics.mjs, until it joins the typed measurement
// command (`npm run measure`, benchmarks/src/measure.ts), which has its own.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnReady } from '@fib/testkit/ready';

/** A server starts a few workers at most: 10 s is plenty even on a busy machine. */
const READY_TIMEOUT_MS = 10_000;

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');

/** The built bin of a strategy package, e.g. `strategyBin('async')`. */
export const strategyBin = (/** @type {string} */ name) => join(root, 'packages', `server-${name}`, 'dist', 'bin.js');
/** The built fib-perf1 or fib-perf2. */
export const perfBin = (/** @type {'perf1' | 'perf2'} */ tool) => join(root, 'packages', 'perf', 'dist', `${tool}.js`);
const perf2 = perfBin('perf2');

/**
 * Starts a server script with --port 0 and resolves with `{ child, port }` once
 * it prints its ready line. The server is killed if this script exits first.
 * @param {string} script
 * @param {string[]} [args]
 * @returns {Promise<{ child: import('node:child_process').ChildProcess, port: number }>}
 */
export async function startServer(script, args = []) {
  const { child, port } = await spawnReady(process.execPath, [script, '--port', '0', ...args], {
    timeoutMs: READY_TIMEOUT_MS,
    label: script,
  });
  process.on('exit', () => child.kill('SIGKILL'));
  return { child, port };
}

/**
 * fib-perf2's mean rate against `port`; throws if any request failed.
 * @param {number} port
 * @param {string[]} extra
 * @param {string | number} seconds
 * @returns {number}
 */
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
  const result = JSON.parse(out.toString());
  if (result.requests.failed > 0) throw new Error(`fib-perf2 saw failures: ${result.problems.join('; ')}`);
  return result.rate.mean;
}

export const median = (/** @type {number[]} */ xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const at = (/** @type {number} */ i) => /** @type {number} */ (sorted[i]);
  return sorted.length % 2 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
};
export const fmt = (/** @type {number} */ x) => Math.round(x).toLocaleString('en-US');

/**
 * Milliseconds of CPU (user + system) the main thread of process `pid` has used, from /proc (Linux).
 * @param {number} [pid]
 */
export function mainThreadCpuMs(pid = process.pid) {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, fields 14 and 15 of proc(5), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
