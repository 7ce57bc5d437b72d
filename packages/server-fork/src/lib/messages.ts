import type { ConnectionLimits } from '@fib/core';

/** What a connection child needs to serve its connection as the parent would; its one argument, as JSON. */
export interface ChildConfig {
  readonly limits: ConnectionLimits;
  readonly maxQueue: number;
}
