// Child processes of the registry test: every command runs under reaper.cjs in
// a process group of its own, with a deadline, and stopAll() takes down every
// group still alive (also from an 'exit' handler, synchronously).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseReadyLine, waitForReady, type ReadyAddress } from '@fib/testkit/ready';

const REAPER = fileURLToPath(new URL('./reaper.cjs', import.meta.url));
/** Output kept per stream: enough for an error report, bounded for chatty tools. */
const MAX_CAPTURE = 1 << 20;

/** How a command ended, as its reaper reports it. */
export interface ExitReport {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Processes of its group outlived it by more than the grace period (then killed). */
  leftovers?: boolean;
  /** It could not be started at all. */
  error?: string;
}

/** Output of a command, for error reports. */
export interface Output {
  stdout: string;
  stderr: string;
}

export interface GuardedProcess extends Output {
  readonly label: string;
  readonly reaper: ChildProcess;
  /** The command's pid (its process group's id), once started. */
  pid: number | undefined;
  done: boolean;
  leftovers: boolean;
  readonly exited: Promise<ExitReport>;
  /** Sends `signal` to the command, or to its whole process group. */
  signal(signal: NodeJS.Signals, options?: { group?: boolean }): void;
  /** Resolves with the address of the command's ready line; rejects on exit or after `ms`. */
  waitReady(ms: number): Promise<ReadyAddress>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  label?: string;
  graceMs?: number;
  orphanDir?: string;
}

/** What a reaper sends over IPC. */
type ReaperMessage =
  | { reaper: 'started'; pid: number }
  | { reaper: 'exit'; code: number | null; signal: NodeJS.Signals | null; leftovers: boolean }
  | { reaper: 'error'; message: string };

const live = new Set<GuardedProcess>();
/** Process groups started without a reaper (start-up timing), by leader pid. */
const bareGroups = new Set<number>();

/** Registers a detached child's group for killAllSync; returns the untrack function. */
export function trackGroup(pid: number): () => boolean {
  bareGroups.add(pid);
  return () => bareGroups.delete(pid);
}

/**
 * An environment for the tools the test runs, free of what `npm run` adds:
 * npm_config_local_prefix and friends would point npm back at the monorepo,
 * and node_modules/.bin on PATH would let `npx` find the workspace bins
 * instead of the registry's.
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'INIT_CWD' || key === 'NODE_PATH') continue;
    env[key] = value;
  }
  env.PATH = (env.PATH ?? '')
    .split(':')
    .filter((dir) => dir && !dir.includes('node_modules'))
    .join(':');
  return { ...env, ...extra };
}

/**
 * Starts `command args` in its own process group. The handle exposes the
 * output so far, a promise of the exit, and ways to wait for a line. Once the
 * command exits, the rest of its group gets `graceMs` to end by itself
 * before it is reported (`leftovers`) and killed. `orphanDir`: a temp
 * folder the reaper removes if this process dies without cleaning up.
 */
export function spawnGuarded(command: string, args: readonly string[], options: SpawnOptions = {}): GuardedProcess {
  const { cwd, env, label = command, graceMs = 0, orphanDir = '' } = options;
  const reaper = fork(REAPER, [String(graceMs), orphanDir, command, ...args], {
    cwd,
    env,
    // Not this process's `--import tsx`: the reaper is plain JavaScript, and
    // tsx cannot be resolved from the folders it runs in.
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let resolveExit!: (report: ExitReport) => void;
  const handle: GuardedProcess = {
    label,
    reaper,
    pid: undefined,
    stdout: '',
    stderr: '',
    done: false,
    leftovers: false,
    exited: new Promise<ExitReport>((resolve) => {
      resolveExit = resolve;
    }),
    signal(signal, { group = false } = {}) {
      if (!handle.done && reaper.connected) reaper.send({ reaper: 'signal', signal, group });
    },
    waitReady(ms) {
      const already = parseReadyLine(handle.stdout);
      if (already) return Promise.resolve(already);
      return waitForReady(reaper.stdout!, {
        timeoutMs: ms,
        exited: handle.exited,
        label,
        context: () => tail(handle),
      });
    },
  };
  const append = (stream: 'stdout' | 'stderr') => (chunk: string) => {
    if (handle[stream].length < MAX_CAPTURE) handle[stream] += chunk;
  };
  reaper.stdout!.setEncoding('utf8').on('data', append('stdout'));
  reaper.stderr!.setEncoding('utf8').on('data', append('stderr'));
  let reported: ExitReport | undefined;
  reaper.on('message', (message: ReaperMessage) => {
    if (message?.reaper === 'started') handle.pid = message.pid;
    if (message?.reaper === 'exit') reported = message;
    if (message?.reaper === 'error') reported = { code: 127, signal: null, error: message.message };
  });
  reaper.on('exit', (code) => {
    handle.done = true;
    live.delete(handle);
    // Wait for the pipes to drain, so callers see the whole output.
    let open = 2;
    const settle = () => {
      if (--open > 0) return;
      handle.leftovers = reported?.leftovers ?? false;
      resolveExit(reported ?? { code, signal: null });
    };
    if (reaper.stdout!.readableEnded) settle();
    else reaper.stdout!.once('end', settle);
    if (reaper.stderr!.readableEnded) settle();
    else reaper.stderr!.once('end', settle);
  });
  live.add(handle);
  return handle;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  label?: string;
  /** Resolve with a non-zero exit instead of rejecting. */
  allowFailure?: boolean;
}

export interface RunResult extends ExitReport, Output {
  ms: number;
}

/** Runs a command to completion; rejects when it fails or outlives `timeoutMs`. */
export async function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const { cwd, env, timeoutMs, label = `${command} ${args.join(' ')}`, allowFailure = false } = options;
  const started = performance.now();
  const handle = spawnGuarded(command, args, { ...(cwd ? { cwd } : {}), ...(env ? { env } : {}), label });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    handle.signal('SIGKILL', { group: true });
  }, timeoutMs);
  const result = await handle.exited;
  clearTimeout(timer);
  const outcome = { ...result, stdout: handle.stdout, stderr: handle.stderr, ms: performance.now() - started };
  if (timedOut) throw new Error(`${label}: killed after ${timeoutMs / 1000} s${tail(handle)}`);
  if (!allowFailure && result.code !== 0) throw new Error(`${label}: ${describeExit(result)}${tail(handle)}`);
  return outcome;
}

export function describeExit({ code, signal, error }: ExitReport): string {
  if (error) return `could not start: ${error}`;
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}

export function tail(handle: Output, lines = 25): string {
  const pick = (text: string) => text.trimEnd().split('\n').slice(-lines).join('\n');
  const out = [];
  if (handle.stdout.trim()) out.push(`--- stdout (tail) ---\n${pick(handle.stdout)}`);
  if (handle.stderr.trim()) out.push(`--- stderr (tail) ---\n${pick(handle.stderr)}`);
  return out.length ? `\n${out.join('\n')}` : '';
}

/**
 * Kills every process group still alive, synchronously: safe in an 'exit'
 * handler. Only processes this test started are touched, by their ids.
 */
export function killAllSync(): void {
  for (const handle of live) {
    if (handle.pid) {
      try {
        process.kill(-handle.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      handle.reaper.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const pid of bareGroups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  bareGroups.clear();
}

/** Kills what is left and waits (briefly) for the reapers to report their exit. */
export async function stopAll(ms = 5_000): Promise<void> {
  const pending = [...live];
  for (const handle of pending) handle.signal('SIGKILL', { group: true });
  await Promise.race([
    Promise.all(pending.map((handle) => handle.exited)),
    new Promise((resolve) => setTimeout(resolve, ms).unref()),
  ]);
  killAllSync();
}
