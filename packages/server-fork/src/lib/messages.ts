import type { ConnectionLimits } from '@fib/core';

/**
 * Marker field of every message between the parent and a connection child, so
 * that our traffic never mixes with anything else on the IPC channel (Node's
 * own NODE_HANDLE messages travel there too).
 */
export const TAG = 'fib-server-fork';

/** What the child needs to serve its connection as the parent would. */
export interface ChildConfig {
  readonly limits: ConnectionLimits;
  readonly maxQueue: number;
}

/** Parent to child. `serve` carries the client socket as the message's handle. */
export type ToChild =
  | { readonly tag: typeof TAG; readonly type: 'serve'; readonly config: ChildConfig }
  | { readonly tag: typeof TAG; readonly type: 'drain' };

/** Child to parent: its message listener is in place, the socket may be sent. */
export type ToParent = { readonly tag: typeof TAG; readonly type: 'ready' };

export function isToChild(message: unknown): message is ToChild {
  return typeof message === 'object' && message !== null && (message as { tag?: unknown }).tag === TAG;
}

export function isToParent(message: unknown): message is ToParent {
  return isToChild(message);
}
