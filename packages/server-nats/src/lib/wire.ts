import { isErrorCode, type ErrorCode } from '@fib/protocol';
import { WORKER_FAULT_KINDS, type WorkerFault } from '@fib/core/testing';

/**
 * Everything front-ends and workers say to each other through NATS, defined
 * once and imported by both sides. A job is a JetStream message; an answer is
 * a plain (core NATS) message on the asking front-end's inbox.
 */

/** The queue every front-end and worker uses unless told another (`--queue`). */
export const DEFAULT_QUEUE = 'default';
/** A queue name: a NATS subject token and part of a stream name. */
export const QUEUE_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/** The NATS names of one work queue: several independent deployments can share one NATS. */
export interface QueueNames {
  readonly name: string;
  /** The stream: work-queue retention, so a job is removed once a worker acknowledges it. */
  readonly stream: string;
  readonly subject: string;
  /** The one durable pull consumer every worker of every host pulls through. */
  readonly consumer: string;
  /** Where a worker asks for its next job (JetStream's pull API). */
  readonly pull: string;
  /** JetStream says here that a job was delivered MAX_DELIVER times without an acknowledgement. */
  readonly maxDeliveries: string;
}

export function queueNames(name: string = DEFAULT_QUEUE): QueueNames {
  const isDefault = name === DEFAULT_QUEUE;
  const stream = isDefault ? 'FIB_JOBS' : `FIB_JOBS_${name}`;
  const consumer = isDefault ? 'fib-workers' : `fib-workers-${name}`;
  return {
    name,
    stream,
    subject: isDefault ? 'fib.jobs' : `fib.jobs.${name}`,
    consumer,
    pull: `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
    maxDeliveries: `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`,
  };
}

/**
 * How long the server waits for a worker's acknowledgement before it hands
 * the job to another worker. A worker computes anything slower than
 * INLINE_MAX_N off its NATS thread and says "still working" every
 * PROGRESS_EVERY_MS, so this bounds the time a dead worker's job waits for
 * its retry, whatever the job costs (a fib(40) is not redelivered after 1.5 s:
 * its worker keeps saying it works on it). Short, so that a job whose two
 * workers die in a row is still answered within 5 s; long enough that a
 * worker's NATS thread, which only moves messages, is not seen dead by a
 * loaded machine's scheduling delays.
 */
export const ACK_WAIT_MS = 1500;
/** Three progress signals per ack-wait window: one can be late or lost without a redelivery. */
export const PROGRESS_EVERY_MS = ACK_WAIT_MS / 3;
/**
 * Deliveries the consumer makes of one job: the first, the retry of a job
 * whose worker died (docs/workers.md: retried once), and a third one only to answer
 * `ERR internal`, so that the answer comes from a live worker that read the
 * delivery count rather than from a timer.
 */
export const MAX_DELIVER = 3;
/** A job delivered this many times had two workers die on it: it is answered, not computed. */
export const GIVE_UP_DELIVERY = MAX_DELIVER;
/**
 * fib(n) up to this runs on the worker's NATS thread: fib(30) is about 10 ms
 * here (1.3 million calls; each n more costs about 1.618 times as much),
 * less than a compute thread's start-up, and even ten times slower on a
 * loaded machine it delays no progress signal (PROGRESS_EVERY_MS). Above it,
 * a compute thread keeps the NATS thread free, and a cancelled job can be
 * stopped.
 */
export const INLINE_MAX_N = 30;
/** How long one pull request waits at the server; an idle worker renews it then. */
export const PULL_EXPIRES_MS = 5000;
/** A pull with no message nor status by then was lost (a server restarted or a leader moved): pull again. */
export const PULL_LOST_MS = PULL_EXPIRES_MS + 2000;

/** The pull request body: one job at a time per free slot (the worker asks only when it can compute). */
export const PULL_ONE = JSON.stringify({ batch: 1, expires: PULL_EXPIRES_MS * 1e6 });
/** Acknowledges the job in hand and asks for the next one, in one message. */
export const ACK_NEXT = `+NXT ${PULL_ONE}`;
export const ACK = '+ACK';
export const PROGRESS = '+WPI';
export const TERMINATE = '+TERM';

/**
 * Requests of one connection that arrive together travel as one job (a
 * batch), when each is at most BATCH_MAX_N: fib(20) is about 30 us here, so
 * a full batch of MAX_BATCH holds a worker for about 2 ms, and a cheap
 * request never waits behind an expensive one inside a batch. A request
 * above BATCH_MAX_N travels alone.
 */
export const BATCH_MAX_N = 20;
export const MAX_BATCH = 64;

/** A job: `n[,n...] reply-subject id`, and a fault (test-only) as `KIND:DELIVERIES` when armed. */
export interface Job {
  readonly ns: readonly number[];
  readonly reply: string;
  readonly id: number;
  readonly fault?: { readonly kind: WorkerFault; readonly deliveries: number };
}

export function encodeJob(job: Job): string {
  const base = `${job.ns.join(',')} ${job.reply} ${job.id}`;
  return job.fault === undefined ? base : `${base} ${job.fault.kind}:${job.fault.deliveries}`;
}

export function decodeJob(text: string): Job | null {
  const [list, reply, id, fault] = text.split(' ');
  const ns = (list ?? '').split(',').map(Number);
  const number = Number(id);
  if (
    ns.length > MAX_BATCH ||
    !ns.every((n) => Number.isInteger(n) && n >= 0) ||
    reply === undefined ||
    reply === '' ||
    !Number.isInteger(number)
  ) {
    return null;
  }
  if (fault === undefined) return { ns, reply, id: number };
  const [kind, deliveries] = fault.split(':');
  if (!(WORKER_FAULT_KINDS as readonly string[]).includes(kind!)) return null;
  return { ns, reply, id: number, fault: { kind: kind as WorkerFault, deliveries: Number(deliveries) } };
}

/** An answer: `id value[,value...]` (one per request of the job), or `id !code message` for an error. */
export type Answer =
  | { readonly id: number; readonly values: readonly number[] }
  | { readonly id: number; readonly code: ErrorCode; readonly message: string };

export function encodeValues(id: number, values: readonly number[]): string {
  return `${id} ${values.join(',')}`;
}

export function encodeError(id: number, code: ErrorCode, message: string): string {
  return `${id} !${code} ${message}`;
}

export function decodeAnswer(text: string): Answer | null {
  const space = text.indexOf(' ');
  if (space === -1) return null;
  const id = Number(text.slice(0, space));
  if (!Number.isInteger(id)) return null;
  if (text.charCodeAt(space + 1) !== 33 /* ! */) {
    const values = text
      .slice(space + 1)
      .split(',')
      .map(Number);
    return values.every(Number.isFinite) ? { id, values } : null;
  }
  const rest = text.slice(space + 2);
  const gap = rest.indexOf(' ');
  const code = gap === -1 ? rest : rest.slice(0, gap);
  if (!isErrorCode(code)) return null;
  return { id, code, message: gap === -1 ? '' : rest.slice(gap + 1) };
}

/** The delivery count JetStream puts in a job's reply (ack) subject: `$JS.ACK.<stream>.<consumer>.<count>...`. */
export function deliveryCount(ackSubject: string): number {
  const tokens = ackSubject.split('.');
  // Servers since 2.10 may add a domain and an account hash after `$JS.ACK`.
  return Number(tokens[tokens.length >= 11 ? 6 : 4]);
}

/**
 * A front-end answers on `<its inbox>.alive` while it runs: a worker asks
 * before a long job, and while it computes one, so that the job of a
 * front-end that died (SIGKILL, a lost host: no cancel could be sent) is
 * dropped rather than computed for nobody. NATS says "no responders" at once
 * for a subject nobody listens to.
 */
export function aliveSubject(reply: string): string {
  return `${reply}.alive`;
}

/**
 * Front-ends say here which of their jobs nobody waits for any more (the
 * connection closed, or the front-end is stopping): `reply id id ...`. A
 * worker skips such a job when it comes, and stops one it is computing.
 */
export const CANCEL_SUBJECT = 'fib.cancel';

export function encodeCancel(reply: string, ids: readonly number[]): string {
  return `${reply} ${ids.join(' ')}`;
}

/** The job keys (`reply id`, as `jobKey` makes them) a cancel names. */
export function decodeCancel(text: string): string[] {
  const [reply, ...ids] = text.split(' ');
  if (reply === undefined || reply === '') return [];
  return ids.filter((id) => /^\d+$/.test(id)).map((id) => `${reply} ${id}`);
}

export function jobKey(job: Pick<Job, 'reply' | 'id'>): string {
  return `${job.reply} ${job.id}`;
}
