import { fib } from '../fib.js';
import { enactWorkerFault, type WorkerFault, type WorkerFaultPlan } from '../fault.js';
import type { Job } from './job.js';

/**
 * What one message to a worker carries: the bare `n` of a job sent alone
 * (the cheapest thing to clone or serialize), or the `n` of each job of a
 * batch, in order. `fault` is test-only (see `workerFaultPlan`): the worker
 * dies of it instead of computing, and every job of the batch is retried.
 */
export type WorkerTask = number | { readonly ns: readonly number[]; readonly fault?: WorkerFault };

/** A worker's reply to a task: fib of its `n`, or of each of its `ns`, in order. */
export type WorkerAnswer = number | readonly number[];

/** The task that carries `jobs` to a worker, with a fault when the (test-only) plan has one for any of them. */
export function taskOf(jobs: readonly Job[], faults: WorkerFaultPlan | null = null): WorkerTask {
  let fault: WorkerFault | undefined;
  if (faults !== null) {
    for (const job of jobs) {
      fault = faults.take(job.n);
      if (fault !== undefined) break;
    }
  }
  if (jobs.length === 1 && fault === undefined) return jobs[0]!.n;
  const ns = jobs.map((job) => job.n);
  return fault === undefined ? { ns } : { ns, fault };
}

/** In the worker: computes a task, or dies of its fault. */
export function runTask(task: WorkerTask): number | number[] | Promise<never> {
  if (typeof task === 'number') return fib(task);
  if (task.fault !== undefined) return enactWorkerFault(task.fault);
  const answers = new Array<number>(task.ns.length);
  for (let i = 0; i < answers.length; i++) answers[i] = fib(task.ns[i]!);
  return answers;
}

/** `jobs` for a log line: "fib(30)", or "a batch of 12 jobs, fib(1) to fib(9)". */
export function describeJobs(jobs: readonly Job[]): string {
  if (jobs.length === 1) return `fib(${jobs[0]!.n})`;
  let low = Infinity;
  let high = -Infinity;
  for (const { n } of jobs) {
    low = Math.min(low, n);
    high = Math.max(high, n);
  }
  return `a batch of ${jobs.length} jobs, fib(${low}) to fib(${high})`;
}
