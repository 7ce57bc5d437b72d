import type { Envelope, WorkerAnswer, WorkerTask } from '@fib/core';

/**
 * Everything the server and its queue workers say to each other besides
 * core's READY, in core's one envelope. JSON serialization: for messages
 * this small it measured faster here than `serialization: 'advanced'`.
 */

/** Server to worker: one job or a batch (see `taskOf`), sent only to a worker that is idle; `id` is its first job's. */
export type JobMessage = Envelope<'job', { id: number; task: WorkerTask }>;

/** Worker to server: the task's answer; it also says the worker is idle again (the next task may come). */
export type ResultMessage = Envelope<'result', { id: number; value: WorkerAnswer }>;
