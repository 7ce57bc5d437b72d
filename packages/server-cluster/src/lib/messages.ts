import type { ConnectionLimits, Envelope } from '@fib/core';

/** The environment variable that carries a worker's configuration as JSON. */
export const CONFIG_ENV = 'FIB_SERVER_CLUSTER_CONFIG';

/** What a worker needs to serve connections as the server would. */
export interface WorkerConfig {
  readonly limits: ConnectionLimits;
  readonly maxQueue: number;
  /** The server's metrics are on: count requests, answer the primary's scrapes. */
  readonly metrics: boolean;
}

/**
 * Worker to primary, around a computation long enough to block the worker's
 * event loop for a while (fib(35) and up, 0.1 s or more): the primary then
 * hands new connections to the other workers.
 */
export type Busy = Envelope<'busy'>;
export type Idle = Envelope<'idle'>;
