/**
 * The one envelope of every message between a server and its workers,
 * threads or processes: an object whose `@fib` field names the message. The
 * marker keeps our traffic apart from anything else on the channel (Node's
 * own NODE_* messages, cluster's, a library's), and doubles as the type tag,
 * so a message costs one extra short field.
 */
export const MARK = '@fib';

export type Envelope<Kind extends string = string, Body extends object = object> = {
  readonly [MARK]: Kind;
} & Readonly<Body>;

/** Builds a message of kind `kind`. */
export function envelope<Kind extends string, Body extends object = Record<never, never>>(
  kind: Kind,
  body?: Body,
): Envelope<Kind, Body> {
  return { ...body, [MARK]: kind } as Envelope<Kind, Body>;
}

/**
 * The one type guard: is `message` ours? `M` is the union the caller expects
 * on this channel; the marker is the proof that our own code sent it, the
 * kind field then narrows it.
 */
export function isEnvelope<M extends Envelope = Envelope>(message: unknown): message is M {
  return typeof message === 'object' && message !== null && typeof (message as Envelope)[MARK] === 'string';
}

/** Worker to server, once: it is set up and can take work. */
export type Ready = Envelope<'ready'>;
export const READY: Ready = envelope('ready');

/** Server to worker: stop taking work, finish what you hold, then exit 0. */
export type Drain = Envelope<'drain'>;
export const DRAIN: Drain = envelope('drain');
