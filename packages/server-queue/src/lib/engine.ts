import { fork } from 'node:child_process';
import { FibError } from '@fib/protocol';
import {
  describeJobs,
  Dispatcher,
  envelope,
  isEnvelope,
  processHandle,
  Supervisor,
  taskOf,
  trackSupervisor,
  WorkerDiedError,
  type ComputeEngine,
  type ServerContext,
  type ServerOptions,
  type WorkerHandle,
} from '@fib/core';
import { workerFaultPlan } from '@fib/core/testing';
import type { JobMessage, ResultMessage } from './messages.js';

/** esbuild bundles this module into dist/, beside the worker entry. */
const WORKER_ENTRY = new URL('./worker.js', import.meta.url);

/**
 * The parent side: workers kept by core's Supervisor, fed by core's fair
 * Dispatcher. A worker is sent a job only when it is free; its answer is its
 * request for the next one, so a batch of requests costs one IPC round trip.
 */
export async function createQueueEngine(options: ServerOptions, context: ServerContext): Promise<ComputeEngine> {
  const { report, metrics } = context;
  const faults = workerFaultPlan();
  const dispatcher: Dispatcher<WorkerHandle> = new Dispatcher<WorkerHandle>({
    queueWait: metrics?.trackQueue() ?? null,
    send: (worker, jobs) => {
      const message: JobMessage = envelope('job', { id: jobs[0]!.id, task: taskOf(jobs, faults) });
      // A worker that cannot take it is dying: its exit fails the jobs, which are then retried.
      if (!worker.send(message)) supervisor.retire(worker);
    },
  });
  const supervisor = new Supervisor({
    name: 'queue worker',
    size: options.workers,
    report,
    spawn: () => processHandle(fork(WORKER_ENTRY, [], { serialization: 'json' })),
    held: (worker) => {
      const jobs = dispatcher.holds(worker);
      return jobs === undefined ? '' : ` while computing ${describeJobs(jobs)}`;
    },
  });
  if (metrics !== null) trackSupervisor(metrics, supervisor, true);
  supervisor.on('ready', (worker) => {
    worker.onMessage((message) => {
      if (!isEnvelope<ResultMessage>(message) || message['@fib'] !== 'result') return;
      if (dispatcher.holds(worker)?.[0]?.id === message.id) return dispatcher.answer(worker, message.value);
      report({
        level: 'error',
        event: 'worker-misbehaved',
        msg: `queue worker ${worker.id} answered job ${message.id}, which it does not hold; killing it`,
        worker: worker.id,
      });
      supervisor.retire(worker);
    });
    dispatcher.ready(worker);
  });
  // Being replaced (a reload): it answers the job it holds and gets no other.
  supervisor.on('retiring', (worker) => dispatcher.retire(worker));
  supervisor.on('exit', ({ worker, exit }) => {
    const jobs = dispatcher.holds(worker);
    if (jobs === undefined) return dispatcher.lost(worker, null);
    dispatcher.lost(
      worker,
      new WorkerDiedError(`queue worker ${worker.id} died computing ${describeJobs(jobs)}`, { cause: exit.error }),
    );
  });
  supervisor.on('fatal', (error) => {
    // No worker can start: no request may wait for one forever.
    dispatcher.close(new FibError('internal', 'no worker process could start'));
    context.fail(error);
  });
  await supervisor.start();
  return {
    open: () => dispatcher.open(),
    // A worker that ends cleanly with the server (a SIGTERM to the process group) is replaced only if work is left.
    drain: () => supervisor.drain(() => dispatcher.waiting > 0),
    close: () => {
      dispatcher.close();
      return supervisor.stop();
    },
    /**
     * SIGHUP: each worker in turn is replaced by a new one, ready before the
     * old one takes no more jobs; the old one answers the job it holds, then exits.
     */
    async reload() {
      const old = supervisor.ready;
      for (const worker of old) {
        await supervisor.rotate(worker);
        metrics?.workerRestarted();
      }
      return { replaced: old.length };
    },
  };
}
