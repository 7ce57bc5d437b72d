/**
 * What the embedded nats-server's keeper process tells the front-end over
 * IPC. Every message carries the marker field, so that nothing else on the
 * channel is taken for ours.
 */
export const MARK = 'fibnats';

export type KeeperMessage =
  /** nats-server is up: clients connect to `url`. */
  | { readonly [MARK]: 1; readonly type: 'ready'; readonly url: string }
  /** A line for the server's log (nats-server errors, restarts). */
  | { readonly [MARK]: 1; readonly type: 'log'; readonly line: string }
  /** nats-server cannot run; the keeper exits after this. */
  | { readonly [MARK]: 1; readonly type: 'failed'; readonly reason: string };

export function isKeeperMessage(message: unknown): message is KeeperMessage {
  return typeof message === 'object' && message !== null && (message as Record<string, unknown>)[MARK] === 1;
}
