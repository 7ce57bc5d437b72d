/**
 * Marker field of every message between the primary and a worker, so that our
 * traffic never mixes with cluster's own internal messages (or a user's) on
 * the IPC channel.
 */
export const TAG = 'fib-server-cluster';

/** The environment variable that carries a worker's resolved options as JSON. */
export const OPTIONS_ENV = 'FIB_SERVER_CLUSTER_OPTIONS';

/** Primary to worker: a graceful shutdown began; answer what you have, then exit. */
export type ToWorker = { readonly tag: typeof TAG; readonly type: 'drain' };

/** Worker to primary: it listens (with the real address), or it could not. */
export type ToPrimary =
  | { readonly tag: typeof TAG; readonly type: 'listening'; readonly host: string; readonly port: number }
  | { readonly tag: typeof TAG; readonly type: 'failed'; readonly message: string; readonly code?: string };

function tagged(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { tag?: unknown }).tag === TAG;
}

export const isToWorker = tagged as (message: unknown) => message is ToWorker;
export const isToPrimary = tagged as (message: unknown) => message is ToPrimary;
