import type { Envelope, WorkerAnswer, WorkerTask } from '@fib/core';

/** Main thread to worker: one job or a batch (see `taskOf`), sent only when the thread holds none. */
export type JobMessage = Envelope<'job', { task: WorkerTask }>;

/** Worker to main thread: the answer to the task it holds. */
export type AnswerMessage = Envelope<'answer', { value: WorkerAnswer }>;
