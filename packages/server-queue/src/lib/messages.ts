import type { WorkerFault } from '@fib/core';

/**
 * Everything the server and its queue workers say to each other, defined once
 * and imported by both sides. Every message carries the marker field, so that
 * nothing else on the IPC channel (a library's own traffic, a stray
 * `process.send`) is ever taken for ours. JSON serialization: for messages
 * this small it measured faster here than `serialization: 'advanced'`.
 */
export const MARK = 'fibq';
type Marked = { readonly [MARK]: 1 };

/** Worker to server, once, when it can take jobs. */
export interface ReadyMessage extends Marked {
  readonly type: 'ready';
}

/** Worker to server: the job's answer; it also says the worker is idle again (the next job may come). */
export interface ResultMessage extends Marked {
  readonly type: 'result';
  readonly id: number;
  readonly value: number;
}

/** Server to worker: one job, sent only to a worker that is idle. */
export interface JobMessage extends Marked {
  readonly type: 'job';
  readonly id: number;
  readonly n: number;
  /** Only when @fib/core's test-only fault injection is armed: die instead of computing. */
  readonly fault?: WorkerFault;
}

export type ToServer = ReadyMessage | ResultMessage;
export type ToWorker = JobMessage;

export const READY: ReadyMessage = { [MARK]: 1, type: 'ready' };

export function resultMessage(id: number, value: number): ResultMessage {
  return { [MARK]: 1, type: 'result', id, value };
}

export function jobMessage(id: number, n: number, fault: WorkerFault | undefined): JobMessage {
  return fault === undefined ? { [MARK]: 1, type: 'job', id, n } : { [MARK]: 1, type: 'job', id, n, fault };
}

function isMarked(message: unknown): message is Marked & { readonly type: unknown } {
  return typeof message === 'object' && message !== null && (message as Record<string, unknown>)[MARK] === 1;
}

export function isToServer(message: unknown): message is ToServer {
  return isMarked(message) && (message.type === 'ready' || message.type === 'result');
}

export function isToWorker(message: unknown): message is ToWorker {
  return isMarked(message) && message.type === 'job';
}
