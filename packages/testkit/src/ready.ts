// The ready line every fib server bin prints once it listens (docs/cli.md,
// "Ready line"), read in one place for the tests, the benchmark lab, the
// measurement command and the registry test. Kept apart from the rest of the
// test kit (its own entry, `@fib/testkit/ready`) so that scripts can use it
// without loading ava.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Readable } from 'node:stream';

/** `listening on HOST:PORT` anywhere in a line; an IPv6 host comes in brackets. */
export const READY_LINE = /listening on (\[[^\]]+\]|[^\s:]+):(\d+)/;

/** Output kept while waiting: far more than any ready line, bounded for a chatty bin. */
const MAX_KEPT_CHARS = 64 * 1024;

export interface ReadyAddress {
  /** The host as printed, without the brackets of an IPv6 address. */
  readonly host: string;
  readonly port: number;
  /** The text that matched, e.g. `listening on 127.0.0.1:40123`. */
  readonly line: string;
}

/** The address in the first ready line of `text`, or undefined when there is none yet. */
export function parseReadyLine(text: string): ReadyAddress | undefined {
  const match = READY_LINE.exec(text);
  if (!match) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]), line: match[0] };
}

export interface WaitReadyOptions {
  /** Rejects when nothing matched within this many milliseconds. */
  readonly timeoutMs: number;
  /** Settles when the process is gone: waiting stops with an error then. */
  readonly exited: Promise<unknown>;
  /** Names the process in errors. */
  readonly label: string;
  /** More to say in an error (the process's output so far, its exit code...). */
  readonly context?: () => string;
}

/**
 * Reads `stdout` until it carries a ready line and resolves with its address.
 * Rejects when the process exits first or after `timeoutMs`; the stream is
 * left flowing, so the process never blocks on a full pipe afterwards.
 */
export function waitForReady(stdout: Readable, options: WaitReadyOptions): Promise<ReadyAddress> {
  const { timeoutMs, exited, label, context = () => '' } = options;
  return new Promise<ReadyAddress>((resolve, reject) => {
    let seen = '';
    let settled = false;
    const finish = (error: Error | null, address?: ReadyAddress) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stdout.off('data', onData);
      if (error) reject(error);
      else resolve(address!);
    };
    const onData = (chunk: string | Buffer) => {
      seen = (seen + String(chunk)).slice(-MAX_KEPT_CHARS);
      const address = parseReadyLine(seen);
      if (address) finish(null, address);
    };
    const timer = setTimeout(
      () => finish(new Error(`${label}: no "listening on HOST:PORT" within ${timeoutMs / 1000} s${context()}`)),
      timeoutMs,
    );
    stdout.on('data', onData);
    void exited.then(() => finish(new Error(`${label}: exited before printing "listening on HOST:PORT"${context()}`)));
  });
}

export interface SpawnReadyOptions {
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** A process group of its own, so that the caller can signal the server and its workers at once. */
  readonly detached?: boolean;
  /** `inherit` shows the server's stderr; `pipe` leaves it to the caller. Default `inherit`. */
  readonly stderr?: 'inherit' | 'pipe' | 'ignore';
  readonly label?: string;
}

export interface ReadyProcess extends ReadyAddress {
  readonly child: ChildProcess;
  /** Resolves once the process has exited and its output is read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `command args` and resolves once it prints its ready line. A process
 * that fails to get ready is killed (its whole group when detached) before
 * the promise rejects, so nothing is left running.
 */
export async function spawnReady(
  command: string,
  args: readonly string[],
  options: SpawnReadyOptions,
): Promise<ReadyProcess> {
  const { timeoutMs, detached = false, stderr = 'inherit', label = command } = options;
  const spawnOptions: SpawnOptions = { stdio: ['ignore', 'pipe', stderr], detached };
  if (options.env) spawnOptions.env = options.env;
  if (options.cwd) spawnOptions.cwd = options.cwd;
  const child = spawn(command, args, spawnOptions);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  child.stdout!.setEncoding('utf8');
  try {
    const address = await waitForReady(child.stdout!, { timeoutMs, exited, label });
    child.stdout!.resume();
    return { ...address, child, exited };
  } catch (error) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(detached ? -child.pid : child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited;
    throw error;
  }
}
