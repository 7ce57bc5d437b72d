import Tinypool from 'tinypool';
import {
  describeJobs,
  poolDispatcher,
  reason,
  STOP_GRACE_MS,
  taskOf,
  WorkerDiedError,
  startWarm,
  type ComputeEngine,
  type Reporter,
  type ServerContext,
  type ServerOptions,
} from '@fib/core';
import { workerFaultPlan, type WorkerFaultPlan } from '@fib/core/testing';
import type { WorkerAnswer } from '@fib/core/worker';

/** The pool's processes live as long as the server: tinypool's idle timeout is never reached. */
const KEEP_IDLE_WORKERS_MS = 2 ** 31 - 1;
/**
 * `pool.destroy()` sends SIGTERM and, after tinypool's own 1 s, SIGKILL.
 * Core's grace period bounds the whole teardown, after which we SIGKILL what
 * is left ourselves (a destroy that waits on an 'exit' that never comes must
 * not hang the shutdown); a SIGKILLed process's 'exit' comes within
 * milliseconds, and this bounds the wait for it.
 */
const KILLED_EXIT_WAIT_MS = 1000;
/** fib(n) for this n costs about one hop to a pool process and back: tinypool's IPC costs more than a thread's (`npm run measure -- dispatch`). */
const PROCESS_POOL_HOP_N = 21;
/** tinypool's ProcessWorker rejects the tasks of a child that exits with this message. */
const TINYPOOL_WORKER_EXITED = 'Worker exited unexpectedly';
/**
 * A send to a child that is dying or dead fails with one of these, emitted as
 * the child's 'error' (tinypool issues #84, #94, #130); tinypool then rejects
 * the tasks that child held with that error: the worker is gone either way.
 */
const CHANNEL_GONE = new Set(['EPIPE', 'ERR_IPC_CHANNEL_CLOSED', 'ECONNRESET']);

function isWorkerDeath(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  return error.message === TINYPOOL_WORKER_EXITED || CHANNEL_GONE.has((error as NodeJS.ErrnoException).code ?? '');
}

/**
 * A tinypool pool of `options.workers` child processes, started before the
 * server says it is ready. Core's fair dispatcher hands tinypool one task (a
 * job, or a batch of cheap ones) per free process (connections take turns; a
 * closed connection's waiting jobs are dropped, the task a process holds
 * finishes rather than costing a fork). A worker that dies is replaced by
 * tinypool and each job it held runs once more, then is answered `ERR internal`.
 */
export async function createProcessPoolEngine(options: ServerOptions, context: ServerContext): Promise<ComputeEngine> {
  const { report } = context;
  const faults: WorkerFaultPlan | null = workerFaultPlan();
  let draining = false;
  /** Pools being retired by a reload: their children end on purpose. */
  const retiring = new Set<Tinypool>();
  const makePool = (): Tinypool => {
    const made = new Tinypool({
      runtime: 'child_process',
      filename: new URL('./task.js', import.meta.url).href,
      minThreads: options.workers,
      maxThreads: options.workers,
      idleTimeout: KEEP_IDLE_WORKERS_MS,
      // Without `env`, tinypool gives its children an empty environment.
      env: { ...process.env } as Record<string, string>,
      // Atomics only serve the worker_threads runtime's shared buffer.
      useAtomics: false,
    });
    // A child that dies with no task (an idle worker killed, or a second 'error'
    // after the send that failed) is reported on the pool: an unhandled 'error'
    // event would crash the server. It is logged, not hidden; tinypool has
    // already removed that worker and forked its replacement. During a graceful
    // shutdown an idle child that ends is expected, not a failure: a SIGTERM
    // sent to the whole process group (systemd's default) reaches the children
    // too, and they end once the job in hand, if any, is answered.
    made.on('error', (error: unknown) => {
      if ((draining || retiring.has(made)) && isWorkerDeath(error)) return;
      report({ level: 'error', event: 'worker-died', msg: `a pool process failed: ${reason(error)}`, err: error });
    });
    return made;
  };
  const startPool = (): Promise<Tinypool> =>
    startWarm('pool process', options.workers, makePool, (made) => destroy(made, report));
  let pool = await startPool();
  context.metrics?.trackWorkers(() => pool.threads.length);
  /** Tasks each pool runs now (tinypool does not say): a retired pool is destroyed once it runs none. */
  const running = new Map<Tinypool, number>();
  const idle = new Map<Tinypool, () => void>();
  const settled = (used: Tinypool) => {
    const count = running.get(used);
    // A retired pool already destroyed: nothing counts its tasks any more.
    if (count === undefined) return;
    running.set(used, count - 1);
    if (count === 1) idle.get(used)?.();
  };
  let closed = false;

  const dispatcher = poolDispatcher(
    options.workers,
    (jobs) => {
      const used = pool;
      running.set(used, (running.get(used) ?? 0) + 1);
      return (used.run(taskOf(jobs, faults)) as Promise<WorkerAnswer>).then(
        (answer) => {
          settled(used);
          return answer;
        },
        (error: unknown) => {
          settled(used);
          if (!isWorkerDeath(error)) throw error;
          report({
            level: 'warn',
            event: 'worker-died',
            msg: `the pool process computing ${describeJobs(jobs)} died (${error.message}); it is replaced`,
            err: error,
          });
          throw new WorkerDiedError(undefined, { cause: error });
        },
      );
    },
    { queueWait: context.metrics?.trackQueue() ?? null, hopN: PROCESS_POOL_HOP_N },
  );

  return {
    open: () => dispatcher.open(),
    drain() {
      draining = true;
    },
    close: async () => {
      closed = true;
      dispatcher.close();
      await Promise.all([pool, ...retiring].map((each) => destroy(each, report)));
    },
    /**
     * SIGHUP: the pool is recycled whole, as pool's piscina one is: a new one
     * is started and warmed up, new jobs go to it, and the old one is
     * destroyed once the jobs it runs (one batch per process) are answered.
     * tinypool's own recycleWorkers() would end idle processes before their
     * replacements are up.
     */
    async reload() {
      const next = await startPool();
      const old = pool;
      pool = next;
      retiring.add(old);
      for (let i = 0; i < options.workers; i++) context.metrics?.workerRestarted();
      try {
        if ((running.get(old) ?? 0) > 0) await new Promise<void>((resolve) => idle.set(old, resolve));
        // A shutdown that came meanwhile destroyed it already.
        if (!closed) await destroy(old, report);
      } finally {
        retiring.delete(old);
        running.delete(old);
        idle.delete(old);
      }
      return { replaced: options.workers };
    },
  };
}

/**
 * SIGTERM every child (tinypool's destroy; its own SIGKILL follows after 1 s);
 * whatever has not exited after STOP_GRACE_MS is SIGKILLed by us, and the
 * shutdown goes on after KILLED_EXIT_WAIT_MS whatever tinypool says.
 */
async function destroy(pool: Tinypool, report: Reporter): Promise<void> {
  const alive = new Set<number>();
  for (const worker of pool.threads) {
    alive.add(worker.threadId);
    worker.once('exit', () => alive.delete(worker.threadId));
  }
  const destroyed = pool.destroy().then(() => true);
  if (await Promise.race([destroyed, delay(STOP_GRACE_MS)])) return;
  for (const pid of alive) {
    report({
      level: 'warn',
      event: 'worker-kill',
      msg: `pool process ${pid} outlived the shutdown; SIGKILL`,
      worker: pid,
    });
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // It exited meanwhile.
    }
  }
  if (!(await Promise.race([destroyed, delay(KILLED_EXIT_WAIT_MS)]))) {
    report({ level: 'warn', event: 'pool-teardown', msg: 'tinypool did not finish its teardown; going on' });
  }
}

function delay(ms: number): Promise<false> {
  return new Promise((resolve) => setTimeout(resolve, ms, false).unref());
}
