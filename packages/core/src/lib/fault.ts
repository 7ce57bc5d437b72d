/**
 * Test-only fault injection for worker strategies: lets a test make a worker
 * (thread or process) die on demand, so that docs/workers.md's "replaced, retried
 * once, then ERR internal" can be checked against the real bin.
 *
 * It is armed only by the FIB_TEST_WORKER_FAULT environment variable, read
 * once when a server's engine is created; without it `workerFaultPlan`
 * returns null and no fault is ever sent, so nothing a client sends can
 * trigger one. The decision is taken by the parent (which sees every job);
 * the worker only obeys the marker the parent attached to a job.
 *
 * Format: `KIND:N[:COUNT]`: the first COUNT jobs for fib(N), server-wide
 * (every retry is a job), are sent with the fault KIND; COUNT defaults to
 * unlimited.
 * - `exit`: the worker calls `process.exit(1)`;
 * - `throw`: an uncaught exception outside the job's own code;
 * - `oom`: the worker allocates until its heap limit ends it (only where the
 *   strategy sets a heap limit on its workers, as the thread strategies do).
 */
export const WORKER_FAULT_ENV = 'FIB_TEST_WORKER_FAULT';

export const WORKER_FAULT_KINDS = ['exit', 'throw', 'oom'] as const;
export type WorkerFault = (typeof WORKER_FAULT_KINDS)[number];

/** Which jobs get a fault, with the count left. */
export interface WorkerFaultPlan {
  /** The fault for the next job computing fib(n), if any; counts it. */
  take(n: number): WorkerFault | undefined;
}

export function workerFaultPlan(env: NodeJS.ProcessEnv = process.env): WorkerFaultPlan | null {
  const spec = env[WORKER_FAULT_ENV];
  if (spec === undefined || spec === '') return null;
  const match = /^(exit|throw|oom):(\d+)(?::(\d+))?$/.exec(spec);
  if (match === null) {
    throw new Error(
      `${WORKER_FAULT_ENV} must be KIND:N[:COUNT] with KIND one of ${WORKER_FAULT_KINDS.join(', ')} (got ${JSON.stringify(spec)})`,
    );
  }
  const kind = match[1] as WorkerFault;
  const target = Number(match[2]);
  let left = match[3] === undefined ? Infinity : Number(match[3]);
  return {
    take(n) {
      if (n !== target || left === 0) return undefined;
      left--;
      return kind;
    },
  };
}

/**
 * In the worker: dies the way `fault` says. Returns a promise that never
 * settles, for a job function to return while the uncaught exception comes.
 */
export function enactWorkerFault(fault: WorkerFault): Promise<never> {
  switch (fault) {
    case 'exit':
      return process.exit(1);
    case 'throw':
      // From a tick of its own, so that it is the worker's uncaught error and
      // not a rejection of the job that the pool would merely pass on.
      process.nextTick(() => {
        throw new Error(`${WORKER_FAULT_ENV}: injected uncaught exception`);
      });
      break;
    case 'oom': {
      const hog: number[][] = [];
      for (;;) hog.push(new Array<number>(1 << 20).fill(hog.length));
    }
  }
  return new Promise<never>(() => {});
}
