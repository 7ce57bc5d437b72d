// Runs fib-perf1 / fib-perf2 as a user would, from the package's bin entries.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const manifestPath = require.resolve('@fib/perf/package.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: Record<string, string>; version: string };

export const version = manifest.version;

export function binPath(name: 'fib-perf1' | 'fib-perf2'): string {
  return join(dirname(manifestPath), manifest.bin[name]!);
}

export interface BinRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Every run is bounded: a child still running after `timeoutMs` is killed (and the test fails on
 * its output). A minute, because on a 2-core machine running other suites a node bin has been seen
 * to need more than 20 s just to start.
 */
const DEFAULT_TIMEOUT_MS = 60_000;

export function runBin(
  name: 'fib-perf1' | 'fib-perf2',
  args: string[],
  options: { timeoutMs?: number; onSpawn?: (child: ChildProcess, output: { stdout: string }) => void } = {},
): Promise<BinRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output = { stdout: '', stderr: '' };
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ...output });
    });
    options.onSpawn?.(child, output);
  });
}
