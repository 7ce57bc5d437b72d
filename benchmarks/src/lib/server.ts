import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { waitForReady } from '@fib/testkit/ready';
import { processTree, startTime, TreeSampler } from './proctree.js';
import type { StrategyPackage } from './strategies.js';

/** A strategy starts a few workers at most; 15 s leaves room for a loaded 2-core CI machine. */
const READY_TIMEOUT_MS = 15_000;
/**
 * After SIGTERM a server answers what it already received, then exits. The
 * bench stops it between runs, when nothing is in flight, so 5 s is plenty;
 * past it the server and its descendants get SIGKILL.
 */
const STOP_TIMEOUT_MS = 5_000;
/** How long descendants may outlive their server before they count as orphans and are killed. */
const ORPHAN_GRACE_MS = 1_000;
/** Stderr kept to explain a failure. */
const STDERR_TAIL_BYTES = 4096;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ServerStartError extends Error {
  override name = 'ServerStartError';
}

/** Servers started by this process and not yet seen to exit, for the last-resort kill on exit. */
const live = new Set<ChildProcess>();

/**
 * SIGKILLs every server still running and its descendants, by pid. For the
 * 'exit' handler: it runs synchronously, when nothing else can be awaited.
 */
export function killStartedServers(): void {
  for (const child of live) {
    if (child.pid === undefined) continue;
    for (const pid of processTree(child.pid).reverse()) killQuietly(pid, 'SIGKILL');
  }
  live.clear();
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export class ServerHandle {
  readonly strategy: StrategyPackage;
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  readonly sampler: TreeSampler;
  readonly #child: ChildProcess;
  readonly #stderr: () => string;
  readonly exited: Promise<ExitInfo>;
  #exitInfo: ExitInfo | null = null;
  #stopping: Promise<StopReport> | null = null;

  constructor(
    strategy: StrategyPackage,
    child: ChildProcess,
    address: { host: string; port: number },
    exited: Promise<ExitInfo>,
    stderr: () => string,
  ) {
    this.strategy = strategy;
    this.#child = child;
    this.pid = child.pid!;
    this.host = address.host;
    this.port = address.port;
    this.#stderr = stderr;
    this.exited = exited;
    void exited.then((info) => (this.#exitInfo = info));
    this.sampler = new TreeSampler(this.pid);
    this.sampler.start();
  }

  /** Null while the server runs. */
  get exitInfo(): ExitInfo | null {
    return this.#exitInfo;
  }

  stderrTail(): string {
    return this.#stderr();
  }

  /**
   * SIGTERM, then SIGKILL for the server and every descendant after
   * STOP_TIMEOUT_MS. Descendants left running after the server exited (no
   * worker may outlive its server: docs/cli.md, "Signals") are killed and reported.
   */
  stop(): Promise<StopReport> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<StopReport> {
    this.sampler.sample();
    this.sampler.stop();
    // Who to check afterwards: every descendant seen while it ran and those
    // alive now, each with its start time so that a reused pid is never killed.
    const descendants = new Map(this.sampler.seen);
    for (const pid of processTree(this.pid)) {
      const started = pid === this.pid ? null : startTime(pid);
      if (started !== null && !descendants.has(pid)) descendants.set(pid, started);
    }
    let killed = false;
    if (this.#exitInfo === null) {
      this.#child.kill('SIGTERM');
      const timer = delay(STOP_TIMEOUT_MS);
      const outcome = await Promise.race([this.exited, timer.promise]);
      timer.cancel();
      if (outcome === undefined) {
        killed = true;
        for (const pid of processTree(this.pid).reverse()) killQuietly(pid, 'SIGKILL');
      }
    }
    const exit = await this.exited;
    const alive = () => [...descendants].filter(([pid, started]) => startTime(pid) === started).map(([pid]) => pid);
    let orphans = alive();
    if (orphans.length > 0) {
      await delay(ORPHAN_GRACE_MS).promise;
      orphans = alive();
      for (const pid of orphans) killQuietly(pid, 'SIGKILL');
    }
    return { exit, killed, orphans: orphans.length };
  }
}

export interface StopReport {
  exit: ExitInfo;
  /** The server ignored SIGTERM for STOP_TIMEOUT_MS and was killed. */
  killed: boolean;
  /** Descendants still running after the server exited (then killed by the bench). */
  orphans: number;
}

function delay(ms: number): { promise: Promise<undefined>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)));
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Starts a strategy's bin with `--port 0` and resolves once it prints its
 * ready line. Rejects with ServerStartError (the server's stderr included)
 * when the script is missing, the process exits, or it is not ready in time.
 */
export function startServer(strategy: StrategyPackage, extraArgs: readonly string[] = []): Promise<ServerHandle> {
  if (!existsSync(strategy.script)) {
    return Promise.reject(new ServerStartError(`not built: ${strategy.script} is missing (run npm run build)`));
  }
  // Detached: the servers get their own process group, so a Ctrl-C in the
  // terminal reaches the bench alone, and the bench stops them in order.
  const child = spawn(strategy.interpreter ?? process.execPath, [strategy.script, '--port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  live.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
  });
  const stderrTail = () => stderr.trim();
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });

  return new Promise<ServerHandle>((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) {
        for (const pid of processTree(child.pid!).reverse()) killQuietly(pid, 'SIGKILL');
      }
      // Wait for the exit so that stderr is complete and no process is left behind.
      void exited.then(() => {
        const tail = stderrTail();
        reject(new ServerStartError(tail === '' ? message : `${message}: ${lastLines(tail, 6)}`));
      });
    };
    const timer = setTimeout(() => fail(`not ready after ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    child.once('error', (error) => fail(`cannot start: ${error.message}`));
    void exited.then(({ code, signal }) => fail(`exited before it was ready (${signal ?? `code ${code}`})`));
    child.stdout!.setEncoding('utf8');
    // The timer and the exit above word the failures; the helper only reads the line.
    waitForReady(child.stdout!, { timeoutMs: READY_TIMEOUT_MS + 1_000, exited, label: strategy.name }).then(
      ({ host, port }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.stdout!.resume(); // keep draining whatever else it prints
        resolve(new ServerHandle(strategy, child, { host, port }, exited, stderrTail));
      },
      () => undefined,
    );
  });
}

function lastLines(text: string, count: number): string {
  return text.split('\n').slice(-count).join(' / ');
}
