import { fork, type ChildProcess } from 'node:child_process';
import { FibError } from '@fib/protocol';
import { workerFaultPlan, type Engine, type ServerOptions, type Session, type WorkerFaultPlan } from '@fib/core';
import { Job, JobQueue, Owner } from './jobs.js';
import { isToServer, jobMessage, type ToServer } from './messages.js';

/** esbuild bundles this module into dist/, beside the worker entry. */
const WORKER_ENTRY = new URL('./worker.js', import.meta.url);
/** How long the workers may take to say they are ready when the server starts. */
const STARTUP_TIMEOUT_MS = 15_000;
/** A job is sent at most this often: once, and once more if its worker died (SPEC section 4). */
const MAX_ATTEMPTS = 2;
/** Workers that die before they are ready, in a row, before the queued jobs are failed. */
const MAX_START_FAILURES = 3;
/** Then the next worker is forked after this pause rather than in a tight loop. */
const RESPAWN_BACKOFF_MS = 1000;
/** Shutdown: SIGTERM, then SIGKILL for a worker still there after this long. */
const TERM_GRACE_MS = 2000;
/** A SIGKILLed process's 'exit' comes within milliseconds; this bounds the wait for it. */
const KILLED_EXIT_WAIT_MS = 1000;

const LOG = 'fib-server-queue';

/** The connection is gone: its job was dropped, or not retried. */
class ConnectionClosedError extends Error {
  constructor() {
    super('the connection closed before its job was computed');
    this.name = 'ConnectionClosedError';
  }
}

/** The server is closing: jobs still queued are not computed. */
class EngineClosedError extends Error {
  constructor() {
    super('the queue engine closed before this job was computed');
    this.name = 'EngineClosedError';
  }
}

/** One forked worker and the job it holds (at most one: it asks for the next when it answers). */
class WorkerProcess {
  job: Job | null = null;
  jobId = 0;
  /** It said 'ready': it started. */
  ready = false;
  readonly exited: Promise<void>;
  readonly whenReady: Promise<void>;
  markReady!: () => void;

  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.whenReady = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      child.once('exit', (code, signal) =>
        reject(new Error(`worker ${child.pid} exited (${signal ?? code}) before it was ready`)),
      );
    });
    // Rejected once the server runs; only start() awaits it.
    this.whenReady.catch(() => {});
  }
}

export async function createQueueEngine(options: ServerOptions): Promise<Engine> {
  const engine = new QueueEngine(options.workers, workerFaultPlan());
  await engine.start();
  return engine;
}

/**
 * The parent side: the queue and the worker processes. A worker is sent a job
 * only when it is idle; its answer is its request for the next one, so a
 * request costs one IPC round trip. A worker that dies is replaced; the job it
 * held goes back to the head of the queue once, then is answered
 * `ERR internal`.
 */
class QueueEngine implements Engine {
  readonly #queue = new JobQueue();
  readonly #workers = new Set<WorkerProcess>();
  /** Idle workers, most recently idle last (its caches are warm). */
  readonly #idle: WorkerProcess[] = [];
  readonly #size: number;
  readonly #faults: WorkerFaultPlan | null;
  #nextId = 0;
  #running = false;
  #closing: Promise<void> | null = null;
  #draining = false;
  #startFailures = 0;
  #respawnTimer: NodeJS.Timeout | null = null;

  constructor(size: number, faults: WorkerFaultPlan | null) {
    this.#size = size;
    this.#faults = faults;
  }

  async start(): Promise<void> {
    const workers = Array.from({ length: this.#size }, () => this.#spawn());
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all(workers.map((worker) => worker.whenReady)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the queue workers were not ready within ${STARTUP_TIMEOUT_MS} ms`)),
            STARTUP_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (error) {
      await this.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    this.#running = true;
  }

  open(): Session {
    const owner = new Owner();
    return {
      compute: (n) => this.#submit(n, owner),
      close: () => {
        owner.closed = true;
        for (const job of this.#queue.removeOwnedBy(owner)) job.reject(new ConnectionClosedError());
      },
    };
  }

  /** The server began a graceful shutdown: workers that end now need no replacement unless work is left. */
  drain(): void {
    this.#draining = true;
  }

  close(): Promise<void> {
    this.#closing ??= this.#terminate();
    return this.#closing;
  }

  #submit(n: number, owner: Owner): Promise<number> {
    if (this.#closing !== null) return Promise.reject(new EngineClosedError());
    const job = new Job(n, owner);
    const worker = this.#idle.pop();
    if (worker === undefined) this.#queue.push(job);
    else this.#dispatch(worker, job);
    return job.promise;
  }

  #dispatch(worker: WorkerProcess, job: Job): void {
    job.attempts++;
    worker.job = job;
    worker.jobId = ++this.#nextId;
    const { child } = worker;
    if (!child.connected) {
      // Dying already: its 'exit' puts the job back.
      this.#kill(worker, 'its IPC channel is closed');
      return;
    }
    // No callback: a failed send is the child's 'error' event, handled below.
    child.send(jobMessage(worker.jobId, job.n, this.#faults?.take(job.n)));
  }

  /** `worker` is idle: the next job, or the idle list. */
  #next(worker: WorkerProcess): void {
    if (this.#closing !== null) return;
    const job = this.#queue.shift();
    if (job === undefined) this.#idle.push(worker);
    else this.#dispatch(worker, job);
  }

  #spawn(): WorkerProcess {
    const child = fork(WORKER_ENTRY, [], { serialization: 'json' });
    const worker = new WorkerProcess(child);
    this.#workers.add(worker);
    child.on('message', (message: unknown) => {
      if (isToServer(message)) this.#onMessage(worker, message);
    });
    child.on('error', (error) => {
      // A send to a child that is dying (EPIPE, ERR_IPC_CHANNEL_CLOSED), or a
      // kill that failed. Not hidden: reported, and the worker is replaced.
      this.#kill(worker, error.message);
    });
    child.once('exit', (code, signal) => this.#onExit(worker, code, signal));
    return worker;
  }

  #onMessage(worker: WorkerProcess, message: ToServer): void {
    if (message.type === 'ready') {
      if (worker.ready) return;
      worker.ready = true;
      this.#startFailures = 0;
      worker.markReady();
      this.#next(worker);
      return;
    }
    const job = worker.job;
    if (job === null || message.id !== worker.jobId) {
      this.#kill(worker, `it answered job ${message.id}, which it does not hold`);
      return;
    }
    worker.job = null;
    job.resolve(message.value);
    this.#next(worker);
  }

  #kill(worker: WorkerProcess, reason: string): void {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
    console.error(`${LOG}: worker ${worker.child.pid}: ${reason}; killing it`);
    worker.child.kill('SIGKILL');
  }

  #onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.#workers.delete(worker);
    const idle = this.#idle.indexOf(worker);
    if (idle !== -1) this.#idle.splice(idle, 1);
    const job = worker.job;
    worker.job = null;
    if (this.#closing !== null || !this.#running) {
      job?.reject(new EngineClosedError());
      return;
    }
    // A worker that ended cleanly with the server (a SIGTERM to the whole
    // process group) holding nothing, with nothing queued: no replacement.
    if (this.#draining && job === null && code === 0 && this.#queue.size === 0) return;
    const held = job === null ? '' : ` while computing fib(${job.n})`;
    console.error(`${LOG}: worker ${worker.child.pid} died (${signal ?? `exit code ${code}`})${held}; replacing it`);
    if (job !== null) this.#retryOrFail(job);
    if (worker.ready) {
      this.#spawn();
      return;
    }
    if (++this.#startFailures < MAX_START_FAILURES) {
      this.#spawn();
      return;
    }
    // Workers cannot start: no request may wait for one forever.
    if (![...this.#workers].some((w) => w.ready)) {
      for (const queued of this.#queue.removeAll()) {
        queued.reject(new FibError('internal', 'no worker process could start'));
      }
    }
    this.#respawnTimer ??= setTimeout(() => {
      this.#respawnTimer = null;
      if (this.#closing === null) this.#spawn();
    }, RESPAWN_BACKOFF_MS);
  }

  #retryOrFail(job: Job): void {
    if (job.owner.closed) {
      job.reject(new ConnectionClosedError());
    } else if (job.attempts >= MAX_ATTEMPTS) {
      job.reject(new FibError('internal', 'the worker computing this request died, twice'));
    } else {
      this.#queue.pushRetry(job);
      const idle = this.#idle.pop();
      if (idle !== undefined) this.#next(idle);
    }
  }

  async #terminate(): Promise<void> {
    if (this.#respawnTimer !== null) clearTimeout(this.#respawnTimer);
    for (const job of this.#queue.removeAll()) job.reject(new EngineClosedError());
    await Promise.all(
      [...this.#workers].map(async (worker) => {
        const { child } = worker;
        child.kill('SIGTERM');
        const escalate = setTimeout(() => {
          console.error(`${LOG}: worker ${child.pid} ignored SIGTERM for ${TERM_GRACE_MS} ms; SIGKILL`);
          child.kill('SIGKILL');
        }, TERM_GRACE_MS);
        const gaveUp = new Promise<void>((resolve) => setTimeout(resolve, TERM_GRACE_MS + KILLED_EXIT_WAIT_MS).unref());
        await Promise.race([worker.exited, gaveUp]);
        clearTimeout(escalate);
      }),
    );
  }
}
