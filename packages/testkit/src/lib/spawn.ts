import type { TestFn } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { tiedToParent } from '@fib/core';
import { waitForReady, type ReadyAddress } from '../ready.js';

const require = createRequire(import.meta.url);

/** How long a bin may take to print its ready line before a test gives up. */
const READY_TIMEOUT_MS = 20_000;

/** The file a package's bin runs, resolved as npm would (through node_modules). */
export function binPath(pkg: string, bin: string): string {
  const manifest = require.resolve(`${pkg}/package.json`);
  const { bin: bins } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> };
  const file = bins?.[bin];
  if (file === undefined) throw new Error(`${pkg} has no bin named ${bin}`);
  return join(dirname(manifest), file);
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A bin run as a child process. */
export interface BinRun {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Started in a process group of its own: `stop` and `killIfRunning` signal the whole group. */
  readonly detached: boolean;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** Resolves with the first stderr/stdout text matching `pattern`. */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<string>;
}

/** Runs a bin with node (no shell), collecting its output. */
export interface RunOptions {
  /** Its own process group (pid = group id), so that a test can signal the server and all its children at once. */
  readonly detached?: boolean;
  /**
   * How long startBin waits for the ready line (default 20 s). A bin that
   * waits for something on purpose (fib-server-nats for a JetStream cluster,
   * up to 30 s) gets longer, so that its own error is what a failure shows.
   */
  readonly readyTimeoutMs?: number;
}

export function runBin(
  pkg: string,
  bin: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
  options: RunOptions = {},
): BinRun {
  // Tied to this test process: one that ava ends on a timeout (or a SIGKILL)
  // before any after-hook runs takes its servers with it. The pid is node's.
  const command = tiedToParent({ file: process.execPath, args: [binPath(pkg, bin), ...args] });
  const child = spawn(command.file, command.args, {
    detached: options.detached === true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  // 'close', not 'exit': 'exit' can come before the last output has been read from the pipes.
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal })),
  );
  const waitFor = (pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout', timeoutMs = READY_TIMEOUT_MS) =>
    new Promise<string>((resolve, reject) => {
      const source = stream === 'stdout' ? child.stdout! : child.stderr!;
      const check = () => {
        const text = stream === 'stdout' ? out : err;
        const match = pattern.exec(text);
        if (match) {
          cleanup();
          resolve(match[0]);
        }
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`${bin} exited before printing ${pattern}; stdout: ${out} stderr: ${err}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${bin} did not print ${pattern} within ${timeoutMs} ms; stdout: ${out} stderr: ${err}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        source.off('data', check);
        child.off('close', onExit);
      };
      source.on('data', check);
      child.once('close', onExit);
      check();
    });
  return {
    child,
    pid: child.pid!,
    detached: options.detached === true,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor,
  };
}

/** A server bin, listening. */
export interface ServerRun extends BinRun {
  readonly host: string;
  readonly port: number;
  /** Sends `signal` (SIGTERM by default) and resolves with the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

/** Starts `bin` on a free port and waits for its `listening on HOST:PORT` line. */
export async function startBin(
  pkg: string,
  bin: string,
  args: readonly string[] = [],
  env?: NodeJS.ProcessEnv,
  options: RunOptions = {},
): Promise<ServerRun> {
  const run = runBin(pkg, bin, ['--port', '0', ...args], env, options);
  let address: ReadyAddress;
  try {
    address = await waitForReady(run.child.stdout!, {
      timeoutMs: options.readyTimeoutMs ?? READY_TIMEOUT_MS,
      exited: run.exited,
      label: bin,
      context: () => `; stdout: ${run.stdout()} stderr: ${run.stderr()}`,
    });
  } catch (error) {
    run.child.kill('SIGKILL');
    throw error;
  }
  const { host, port } = address;
  const stop = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (run.child.exitCode === null && run.child.signalCode === null) signalRun(run, signal);
    return run.exited;
  };
  return { ...run, host, port, stop };
}

/**
 * The `start` of one test file or suite: starts `bin` on a free port (see
 * startBin) and remembers it; an ava `after.always` hook kills every server it
 * started that is still running once the tests are done, whatever happened.
 */
export function serverStarter(
  test: TestFn,
  pkg: string,
  bin: string,
): (args?: readonly string[], env?: NodeJS.ProcessEnv, options?: RunOptions) => Promise<ServerRun> {
  const servers: ServerRun[] = [];
  test.after.always(() => Promise.all(servers.map(killIfRunning)));
  return async (args = [], env, options) => {
    const server = await startBin(pkg, bin, args, env, options);
    servers.push(server);
    return server;
  };
}

/** Ensures a server started by a test is gone at the end, whatever happened. */
export async function killIfRunning(run: BinRun | undefined): Promise<void> {
  if (run === undefined || run.child.exitCode !== null || run.child.signalCode !== null) return;
  signalRun(run, 'SIGKILL');
  await run.exited;
}

/** Signals the bin, or its whole process group when it was started detached (as systemd or a shell's job control would). */
function signalRun(run: BinRun, signal: NodeJS.Signals): void {
  if (run.detached) process.kill(-run.pid, signal);
  else run.child.kill(signal);
}
