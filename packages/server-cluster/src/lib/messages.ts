import type { Envelope } from '@fib/core';

/**
 * Worker to primary, around a computation long enough to block the worker's
 * event loop for a while (fib(35) and up, 0.1 s or more): the primary then
 * hands new connections to the other workers.
 */
export type Busy = Envelope<'busy'>;
export type Idle = Envelope<'idle'>;
