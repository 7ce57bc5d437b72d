// What every figure set of `npm run measure` uses: where the built bins are,
// starting a server on a free port, running fib-perf1/fib-perf2 or the C
// client against it, reading a process's CPU from /proc, and the statistics
// that turn noisy rounds into one figure (docs/benchmarks.md, "Measuring").
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tiedToParent } from '@fib/core';
import type { LoadResult } from '@fib/perf';
import { spawnReady, type ReadyProcess } from '@fib/testkit/ready';
import { median as medianOrNull } from '../stats.js';

/** The monorepo root: this code runs from benchmarks/dist/. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BASELINES = join(ROOT, 'benchmarks', 'baselines');
/** The C clients, built by `make -C benchmarks/baselines`: depth 1, and pipelined over several connections. */
const C_CLIENT = join(BASELINES, 'bin', 'perf2-baseline');
const C_PIPELINE_CLIENT = join(BASELINES, 'bin', 'pipeline-baseline');

/** A server starts a few workers at most; 15 s leaves room for a loaded 2-core machine. */
const READY_TIMEOUT_MS = 15_000;
/** Past its own --duration, how long a load generator may take to report before it is killed. */
const PERF_GRACE_MS = 30_000;

/** The built bin of a strategy package, e.g. `strategyBin('async')`; of another build's tree with `root`. */
export const strategyBin = (name: string, root = ROOT): string =>
  join(root, 'packages', `server-${name}`, 'dist', 'bin.js');
/** A raw baseline server of benchmarks/baselines, e.g. `baselineScript('line-server')`. */
export const baselineScript = (name: string): string => join(BASELINES, `${name}.mjs`);
const perfBin = (tool: 'perf1' | 'perf2'): string => join(ROOT, 'packages', 'perf', 'dist', `${tool}.js`);

export interface RunningServer {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts a server script with `--port 0` and waits for its ready line. */
export async function startScript(script: string, args: readonly string[] = []): Promise<RunningServer> {
  // Should this process end first (an error, Ctrl-C, a SIGKILL), the server
  // goes with it: the kernel's parent-death signal, or the exit handler
  // where setpriv is missing.
  const command = tiedToParent({ file: process.execPath, args: [script, '--port', '0', ...args] });
  const server: ReadyProcess = await spawnReady(command.file, command.args, {
    timeoutMs: READY_TIMEOUT_MS,
    label: script,
  });
  const onExit = () => server.child.kill('SIGKILL');
  process.once('exit', onExit);
  return {
    port: server.port,
    pid: server.child.pid!,
    async stop() {
      process.off('exit', onExit);
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGTERM');
      await server.exited;
    },
  };
}

/** Runs fib-perf1 or fib-perf2 with --json against `port` and returns its summary. */
export async function perf(tool: 'perf1' | 'perf2', port: number, args: readonly string[]): Promise<LoadResult> {
  const child = spawn(process.execPath, [perfBin(tool), '--port', String(port), '--json', '--quiet', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const seconds = Number(args[args.indexOf('--duration') + 1] ?? 0);
  const timer = setTimeout(() => child.kill('SIGKILL'), seconds * 1000 + PERF_GRACE_MS);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  const line = out.split('\n').find((text) => text.startsWith('{'));
  if (!line) throw new Error(`fib-${tool} ${args.join(' ')}: exit ${code}, no JSON summary: ${err.trim()}`);
  return JSON.parse(line) as LoadResult;
}

/** fib-perf2's mean rate; throws when any request failed (a figure must not hide errors). */
export async function perf2Rate(port: number, args: readonly string[]): Promise<number> {
  const result = await perf('perf2', port, args);
  if (result.requests.failed > 0) throw new Error(`fib-perf2 saw failures: ${result.problems.join('; ')}`);
  return result.rate.mean;
}

/** The C client's rate (depth 1, one connection) against `port`. */
export function cRate(port: number, seconds: number): Promise<number> {
  return runCClient(C_CLIENT, ['--port', String(port), '--duration', String(seconds)]);
}

/** The pipelined C client's rate: `connections` connections with `pipeline` requests of fib(1) in flight each. */
export function cPipelinedRate(
  port: number,
  seconds: number,
  { connections, pipeline }: { connections: number; pipeline: number },
): Promise<number> {
  const args = ['--connections', String(connections), '--pipeline', String(pipeline)];
  return runCClient(C_PIPELINE_CLIENT, ['--port', String(port), '--duration', String(seconds), ...args]);
}

async function runCClient(client: string, args: readonly string[]): Promise<number> {
  const child = spawn(client, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  child.once('error', () => undefined); // reported below, with how to build it
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  const match = /: (\d+) reqs\/sec \((\d+) wrong\)/.exec(out);
  if (!match) throw new Error(`${client} printed no rate (build it: make -C benchmarks/baselines)`);
  if (code !== 0) throw new Error(`${client} ${args.join(' ')}: exit ${code}: ${out.trim()}`);
  return Number(match[1]);
}

/**
 * Runs `measure` while fib-perf1 loops fib(30) on another connection of the
 * same server (the convoy of docs/benchmarks.md, scenario B). The loop starts
 * first, outlasts the measurement, and is stopped after it.
 */
export async function besideFib30<T>(port: number, seconds: number, measure: () => Promise<T>): Promise<T> {
  const heavy = perf('perf1', port, ['--n', '30', '--duration', String(seconds + 1)]);
  // Long enough for the fib(30) loop to be connected and computing.
  await delay(300);
  try {
    return await measure();
  } finally {
    await heavy;
  }
}

/** Milliseconds of CPU (user + system) the main thread of process `pid` has used, from /proc (Linux). */
export function mainThreadCpuMs(pid: number = process.pid): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, fields 14 and 15 of proc(5), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}
/** USER_HZ is 100 on every Linux build Node supports. */
const CLOCK_TICK_MS = 10;

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
export const median = (values: readonly number[]): number => medianOrNull([...values]) ?? Number.NaN;
export const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
/** The median of round-by-round ratios: the machine's drift between rounds cancels out. */
export const pairedRatio = (a: readonly number[], b: readonly number[]): number =>
  median(a.map((x, i) => ratio(x, b[i]!)));
export const fixed = (value: number, digits = 2): number => Number(value.toFixed(digits));
export const fmt = (value: number): string => Math.round(value).toLocaleString('en-US');
