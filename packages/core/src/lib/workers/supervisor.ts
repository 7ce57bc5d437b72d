import { EventEmitter } from 'node:events';
import { WorkerStartError } from '../errors.js';
import type { Reporter } from '../events.js';
import { DRAIN, isEnvelope, type Ready } from './envelope.js';
import { describeExit, type WorkerExit, type WorkerHandle } from './handle.js';

/** How long a new worker may take to say it is ready: a Node start-up is ~0.1 s, slow machines take seconds. */
export const READY_TIMEOUT_MS = 15_000;
/** SIGTERM, then SIGKILL for a worker still there after this long. */
export const STOP_GRACE_MS = 2000;
/** A SIGKILLed worker's exit comes within milliseconds; this bounds the wait for it. */
const KILLED_EXIT_WAIT_MS = 1000;
/**
 * A worker that exits by itself sooner than this after it was ready is
 * crashing, not unlucky: its replacement waits. One killed by a signal from
 * outside (an operator, the OOM killer) is replaced at once.
 */
const MIN_UPTIME_MS = 1000;
const FIRST_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 5000;
/** Workers that fail to start, in a row, before the supervisor gives up instead of spinning. */
export const MAX_START_FAILURES = 3;

export interface SupervisorOptions {
  /** What a worker is called in reports: 'queue worker', 'connection thread'. */
  readonly name: string;
  /** Starts one worker; it says `READY` once it can take work. */
  readonly spawn: () => WorkerHandle;
  readonly report: Reporter;
  /**
   * Keep this many workers, replacing the dead. Without it, workers are
   * started by `add()` when the strategy wants one and are not replaced.
   */
  readonly size?: number;
  /** A few words on what a worker that died held, for its report: ' while computing fib(30)'. */
  readonly held?: (worker: WorkerHandle) => string;
  readonly readyTimeoutMs?: number;
  readonly stopGraceMs?: number;
}

export interface WorkerDeath {
  readonly worker: WorkerHandle;
  readonly exit: WorkerExit;
  /** It had said it was ready (a failed start is not a death). */
  readonly wasReady: boolean;
  /** It was ending as asked (stop, drain, a strategy's kill). */
  readonly expected: boolean;
}

interface SupervisorEvents {
  /** A worker can take work: one of the first, or a replacement. */
  ready: [worker: WorkerHandle];
  /** A worker is gone, whatever the reason; the strategy settles what it held. */
  exit: [death: WorkerDeath];
  /** A worker is being replaced (rotate): give it no new work. */
  retiring: [worker: WorkerHandle];
  /** Workers cannot start: the supervisor stopped replacing them. The server should fail. */
  fatal: [error: WorkerStartError];
}

interface Supervised {
  readonly worker: WorkerHandle;
  readonly ready: Promise<void>;
  isReady: boolean;
  readyAt: number;
  expected: boolean;
  /** Being replaced (rotate): takes no new work, and its exit is not replaced. */
  retiring: boolean;
  /** Killed by us for not being ready in time: a failed start, whatever the signal says. */
  timedOut: boolean;
}

/**
 * The one owner of workers' lives, for every strategy that runs its own
 * threads or processes (piscina and tinypool keep theirs): start-up
 * readiness with a timeout, death detection, replacement with one back-off
 * policy, a stop after too many failed starts, and the graceful stop
 * (SIGTERM, then SIGKILL after a grace period). It reports through events
 * and the Reporter; it never writes to the console.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly #options: SupervisorOptions;
  readonly #workers = new Map<WorkerHandle, Supervised>();
  #startFailures = 0;
  #restartDelay = 0;
  readonly #restartTimers = new Set<NodeJS.Timeout>();
  #draining = false;
  #stillNeeded: () => boolean = () => false;
  #stopping: Promise<void> | null = null;
  #fatal: WorkerStartError | null = null;

  constructor(options: SupervisorOptions) {
    super();
    this.#options = options;
  }

  /** Workers that said they were ready and are neither gone nor being stopped. */
  get ready(): WorkerHandle[] {
    const ready: WorkerHandle[] = [];
    for (const [worker, state] of this.#workers)
      if (state.isReady && !state.retiring && worker.alive) ready.push(worker);
    return ready;
  }

  /** Every worker started and not gone yet, ready or not. */
  get size(): number {
    return this.#workers.size;
  }

  /** Set once workers could not start: nothing is replaced any more. */
  get failed(): WorkerStartError | null {
    return this.#fatal;
  }

  /**
   * Starts `size` workers and resolves once every one is ready. If they
   * cannot start (a worker exits or times out before it is ready, MAX_START_FAILURES
   * times in a row), it stops whatever started and rejects.
   */
  async start(): Promise<void> {
    const size = this.#options.size ?? 0;
    const first = Array.from({ length: size }, () => this.add().ready);
    const failed = new Promise<never>((_, reject) => this.once('fatal', reject));
    try {
      // A first worker that fails is replaced like any other; only a crash loop fails the start.
      await Promise.race([Promise.allSettled(first).then(() => this.#untilFull()), failed]);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Resolves once `size` workers are ready (replacements of failed first ones included). */
  #untilFull(): Promise<void> {
    const size = this.#options.size ?? 0;
    if (this.ready.length >= size) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.ready.length < size) return;
        this.off('ready', check);
        resolve();
      };
      this.on('ready', check);
    });
  }

  /**
   * Starts one more worker. Messages may be sent at once (a thread's port or
   * a process's channel queues them); `ready` resolves when it says so, or
   * rejects with a WorkerStartError if it exits or times out first.
   */
  add(): { readonly worker: WorkerHandle; readonly ready: Promise<void> } {
    const worker = this.#options.spawn();
    let markReady!: () => void;
    let failStart!: (error: WorkerStartError) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failStart = reject;
    });
    // Callers that only care about deaths (the 'exit' event) need not handle this.
    ready.catch(() => {});
    const state: Supervised = {
      worker,
      ready,
      isReady: false,
      readyAt: 0,
      expected: false,
      retiring: false,
      timedOut: false,
    };
    this.#workers.set(worker, state);
    const timeoutMs = this.#options.readyTimeoutMs ?? READY_TIMEOUT_MS;
    const timer = setTimeout(() => {
      this.#report('error', 'worker-start-timeout', worker, `was not ready within ${timeoutMs} ms; killing it`);
      state.timedOut = true;
      worker.kill('SIGKILL');
    }, timeoutMs);
    worker.onMessage((message) => {
      if (state.isReady || !isEnvelope<Ready>(message) || message['@fib'] !== 'ready') return;
      clearTimeout(timer);
      state.isReady = true;
      state.readyAt = Date.now();
      this.#startFailures = 0;
      markReady();
      this.emit('ready', worker);
    });
    void worker.exited.then((exit) => {
      clearTimeout(timer);
      this.#workers.delete(worker);
      if (!state.isReady)
        failStart(
          new WorkerStartError(`${this.#options.name} ${worker.id} exited before it was ready (${describeExit(exit)})`),
        );
      this.#onExit(state, exit);
    });
    return { worker, ready };
  }

  /**
   * Ends `worker` on purpose (a connection closed, a worker misbehaved):
   * its exit is expected and reported as such, and a sized pool replaces it.
   */
  retire(worker: WorkerHandle, signal: 'SIGTERM' | 'SIGKILL' = 'SIGKILL'): void {
    const state = this.#workers.get(worker);
    if (state !== undefined) state.expected = true;
    worker.kill(signal);
  }

  /**
   * Replaces `old` without a gap (a reload): starts a new worker, and once it
   * is ready takes `old` out of `ready` and sends it DRAIN, so that it
   * finishes what it holds and exits; that exit is expected and not
   * replaced. Resolves once `old` is gone; rejects, leaving `old` in
   * service, if the new worker cannot start.
   */
  async rotate(old: WorkerHandle, settle?: () => Promise<void>): Promise<void> {
    const state = this.#workers.get(old);
    if (state === undefined) return;
    await this.add().ready;
    state.retiring = true;
    state.expected = true;
    this.emit('retiring', old);
    // What the strategy still has on its way to `old` arrives before the drain.
    await settle?.();
    if (!old.send(DRAIN)) old.kill('SIGTERM');
    await old.exited;
  }

  /**
   * A graceful shutdown began: from now on a worker that ends cleanly (exit
   * code 0, as a SIGTERM to the whole process group makes it) is not
   * replaced unless `stillNeeded()` says the strategy has work left for it.
   */
  drain(stillNeeded: () => boolean = () => false): void {
    this.#draining = true;
    this.#stillNeeded = stillNeeded;
  }

  /**
   * Stops every worker: SIGTERM, then SIGKILL after the grace period; no
   * replacement from now on. Resolves once all are gone (or, for a worker
   * whose exit never comes, after a bound).
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  async #stopAll(): Promise<void> {
    for (const timer of this.#restartTimers) clearTimeout(timer);
    this.#restartTimers.clear();
    const grace = this.#options.stopGraceMs ?? STOP_GRACE_MS;
    await Promise.all(
      [...this.#workers.values()].map(async (state) => {
        const { worker } = state;
        state.expected = true;
        worker.kill('SIGTERM');
        const escalate = setTimeout(() => {
          this.#report('warn', 'worker-kill', worker, `ignored SIGTERM for ${grace} ms; SIGKILL`);
          worker.kill('SIGKILL');
        }, grace);
        const bound = new Promise<void>((resolve) => setTimeout(resolve, grace + KILLED_EXIT_WAIT_MS).unref());
        await Promise.race([worker.exited, bound]);
        clearTimeout(escalate);
      }),
    );
  }

  #onExit(state: Supervised, exit: WorkerExit): void {
    const { worker } = state;
    const stopping = this.#stopping !== null;
    const clean = exit.code === 0 && exit.signal === null;
    // A worker started on demand ends cleanly when its work is done (a
    // connection's process when the connection closes): nothing to report.
    const expected = stopping || state.expected || (clean && (this.#draining || this.#options.size === undefined));
    this.emit('exit', { worker, exit, wasReady: state.isReady, expected });
    if (stopping) return;
    const sized = this.#options.size !== undefined;
    if (worker.id === -1) {
      // fork() itself failed (EAGAIN, ENOMEM): the system is short of
      // resources, the worker is not broken; not a crash loop.
      this.#report('error', 'worker-spawn-failed', worker, `could not be created (${describeExit(exit)})`);
    } else if (!state.isReady && !state.expected && (exit.signal === null || state.timedOut)) {
      // It ended by itself before it was ready (a broken entry, a bad
      // environment), or never became ready: a failed start. One killed
      // from outside while starting says nothing about the next.
      this.#startFailures++;
      this.#report('error', 'worker-start-failed', worker, `could not start (${describeExit(exit)})`);
      if (this.#startFailures >= MAX_START_FAILURES) {
        this.#giveUp(exit);
        return;
      }
    } else if (!expected) {
      const held = this.#options.held?.(worker) ?? '';
      const next = sized ? '; replacing it' : '';
      this.#report('warn', 'worker-died', worker, `died (${describeExit(exit)})${held}${next}`, {
        code: exit.code,
        signal: exit.signal,
      });
    }
    if (!sized || this.#fatal !== null || state.retiring) return;
    if (this.#draining && clean && !this.#stillNeeded()) return;
    this.#replace(state, exit);
  }

  #replace(state: Supervised, exit: WorkerExit): void {
    const uptime = state.isReady ? Date.now() - state.readyAt : 0;
    const crashed = exit.signal === null || state.timedOut;
    this.#restartDelay =
      !crashed || uptime >= MIN_UPTIME_MS
        ? 0
        : Math.min(MAX_RESTART_DELAY_MS, Math.max(FIRST_RESTART_DELAY_MS, this.#restartDelay * 2));
    if (this.#restartDelay === 0) {
      this.add();
      return;
    }
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer);
      if (this.#stopping === null) this.add();
    }, this.#restartDelay);
    this.#restartTimers.add(timer);
  }

  #giveUp(exit: WorkerExit): void {
    const error = new WorkerStartError(
      `${this.#options.name}s cannot start: ${MAX_START_FAILURES} in a row exited before they were ready (last: ${describeExit(exit)})`,
    );
    this.#fatal = error;
    this.emit('fatal', error);
  }

  #report(
    level: 'warn' | 'error',
    event: string,
    worker: WorkerHandle,
    what: string,
    fields: Record<string, unknown> = {},
  ): void {
    const { name } = this.#options;
    this.#options.report({ level, event, msg: `${name} ${worker.id} ${what}`, worker: worker.id, ...fields });
  }
}

/**
 * The Supervisor's start-up rule for pools that keep their own workers
 * (piscina, tinypool): one task per worker must succeed within the ready
 * timeout, or the start fails with a WorkerStartError. The ready line then
 * means every worker is up, and a broken worker entry fails the start, not
 * the first client.
 */
export async function warmUp(
  name: string,
  count: number,
  runOne: () => Promise<unknown>,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ready within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: count }, runOne)), late]);
  } catch (error) {
    throw new WorkerStartError(`the ${name}s did not start: ${error instanceof Error ? error.message : error}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A pool library's pool (piscina, tinypool) made by `make` and warmed up: each
 * of its `count` workers answered a first task (`run(0)`). If they do not,
 * the pool is destroyed and the WorkerStartError thrown: no half-started pool
 * is left behind.
 */
export async function startWarm<P extends { run(task: number): Promise<unknown> }>(
  name: string,
  count: number,
  make: () => P,
  destroy: (pool: P) => Promise<unknown>,
): Promise<P> {
  const pool = make();
  try {
    await warmUp(name, count, () => pool.run(0));
  } catch (error) {
    await destroy(pool);
    throw error;
  }
  return pool;
}
