import { EventEmitter } from 'node:events';
import { createInbox, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { FibError } from '@fib/protocol';
import { ConnectionClosedError, EngineClosedError, type Session } from '@fib/core';
import type { WorkerFaultPlan } from '@fib/core/testing';
import { connectNats } from './connect.js';
import { deleteQueue, setUpQueue, type StreamSettings } from './queue.js';
import {
  BATCH_MAX_N,
  CANCEL_SUBJECT,
  MAX_BATCH,
  aliveSubject,
  decodeAnswer,
  encodeCancel,
  encodeJob,
  type Job,
  type QueueNames,
} from './wire.js';

/**
 * How long the front-end rides out a NATS outage before it gives up on the
 * requests it holds: long enough for a client to reconnect to another
 * cluster node and for JetStream to elect a new stream leader (a few
 * seconds), short enough that no client waits much longer than that.
 */
export const OUTAGE_GRACE_MS = 8000;
/** JetStream acknowledges a stored job within milliseconds; past this the publish is tried again (same message id). */
const PUB_ACK_TIMEOUT_MS = 2000;
/** How often publishes still waiting for their acknowledgement are checked. */
const PUB_ACK_SWEEP_MS = 250;
/** JetStream's deduplication header. */
const MSG_ID_HEADER = 'Nats-Msg-Id';
/** Pause before a publish that failed (no stream leader yet, no responders) is tried again. */
const PUBLISH_RETRY_MS = 250;
/** A closing front-end waits this long at most for its last messages (the cancels) to reach NATS. */
const CLOSE_FLUSH_LIMIT_MS = 1000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
const BUSY_MESSAGE = 'the work queue (NATS) is unreachable';

/** One client connection's requests, as the front-end dispatches them. */
class Lane {
  /** Waiting here, not published yet. */
  readonly queue: Request[] = [];
  /** Published and not answered yet. */
  readonly inStream = new Set<PendingJob>();
  closed = false;
}

/** One request of a client, waiting for its value. */
class Request {
  /** Test-only: the fault it carries, once looked up (see #faultOf). */
  fault: Job['fault'] | null = null;
  readonly promise: Promise<number>;
  resolve!: (value: number) => void;
  reject!: (error: unknown) => void;

  constructor(readonly n: number) {
    this.promise = new Promise<number>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** One job in the stream: one request, or a batch of cheap ones of the same connection. */
class PendingJob {
  /** Publishes of this job under a new message id (after a reconnect); retries of one publish keep it. */
  generation = 0;
  /** Its sequence number in the stream, once JetStream acknowledged it. */
  seq = 0;
  /** JetStream acknowledged the last publish; when that publish went out. */
  acked = false;
  publishedAt = 0;
  /** When it was first published: the outage grace counts from there. */
  since = Date.now();
  settled = false;
  retryTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: number,
    readonly requests: readonly Request[],
    readonly lane: Lane,
    readonly fault: Job['fault'],
  ) {}
}

export interface FrontEndOptions {
  readonly servers: readonly string[];
  /** The stream's replicas and storage, when this front-end is the one that creates it. */
  readonly stream: StreamSettings;
  /**
   * Jobs one connection may have in the stream at once; the rest wait at the
   * front-end. The stream is first in, first out, so this is the fairness
   * bound: another connection's job waits behind at most this many of each
   * busy connection's jobs.
   */
  readonly window: number;
  /** Test-only fault injection (see @fib/core's WORKER_FAULT_ENV), or null. */
  readonly faults: WorkerFaultPlan | null;
  readonly queue: QueueNames;
  /** The queue is this front-end's alone: it is removed when the front-end closes. */
  readonly privateQueue?: boolean;
}

export interface FrontEndEvents {
  log: [line: string];
}

/**
 * The front-end side of the work queue: each request becomes a JetStream
 * job; the answer comes back on this front-end's own inbox. Per-connection
 * order and limits are @fib/core's Connection's; this keeps fairness
 * (`window`), and what happens when NATS goes away.
 */
export class FrontEnd extends EventEmitter<FrontEndEvents> {
  readonly #nc: NatsConnection;
  /** JetStream's acknowledgements of this front-end's publishes come here: `<ackInbox>.<job id>`. */
  readonly #ackInbox: string;
  readonly #pubAckSweeper: NodeJS.Timeout;
  readonly #options: FrontEndOptions;
  /** Answers come here: `<inbox>`; message ids start with it too, unique per front-end. */
  readonly #inbox: string;
  readonly #pending = new Map<number, PendingJob>();
  /** The same jobs by stream sequence, for JetStream's max-deliveries advisory. */
  readonly #bySeq = new Map<number, PendingJob>();
  readonly #lanes = new Set<Lane>();
  #nextId = 0;
  /** NATS went away this long ago (timer to give up), or null. */
  #outageTimer: NodeJS.Timeout | null = null;
  /** The outage outlasted the grace: requests are refused until NATS is back. */
  #down = false;
  #closed = false;
  /** Jobs given up on during an outage: the workers are told once NATS is back. */
  #abandoned: number[] = [];

  private constructor(nc: NatsConnection, options: FrontEndOptions) {
    super();
    this.#nc = nc;
    this.#options = options;
    this.#inbox = createInbox();
    this.#ackInbox = `${this.#inbox}.ack`;
    nc.subscribe(`${this.#ackInbox}.*`, {
      callback: (error, msg) => {
        if (error === null) this.#onPubAck(msg);
      },
    });
    this.#pubAckSweeper = setInterval(() => this.#sweepPubAcks(), PUB_ACK_SWEEP_MS);
    this.#pubAckSweeper.unref();
    nc.subscribe(this.#inbox, {
      callback: (error, msg) => {
        if (error === null) this.#onAnswer(msg);
      },
    });
    nc.subscribe(aliveSubject(this.#inbox), {
      callback: (error, msg) => {
        if (error === null) msg.respond();
      },
    });
    // The backstop of the retry rule: a job whose third delivery died too is
    // given up by JetStream, which says so here; its request is answered.
    nc.subscribe(options.queue.maxDeliveries, {
      callback: (error, msg) => {
        if (error === null) this.#onMaxDeliveries(msg);
      },
    });
    void this.#watchStatus();
  }

  /** Connects and sets the queue up; `log` hears why a start waits (later lines are 'log' events). */
  static async start(options: FrontEndOptions, log: (line: string) => void = () => {}): Promise<FrontEnd> {
    const nc = await connectNats(options.servers, 'fib-server-nats');
    try {
      await setUpQueue(nc, options.queue, options.stream, log);
      const frontEnd = new FrontEnd(nc, options);
      await nc.flush();
      return frontEnd;
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /** The NATS server this front-end is connected to now. */
  get server(): string {
    return this.#nc.getServer();
  }

  /** Jobs published and not answered yet: while there are some, a draining server still needs workers. */
  get pending(): number {
    return this.#pending.size;
  }

  /** A new client connection's session. */
  open(): Session {
    const lane = new Lane();
    this.#lanes.add(lane);
    return {
      compute: (n) => this.#submit(n, lane),
      close: () => this.#closeLane(lane),
    };
  }

  /** Refuses what is still queued and closes the NATS connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#outageTimer !== null) clearTimeout(this.#outageTimer);
    clearInterval(this.#pubAckSweeper);
    // Nobody will read these answers: the workers need not compute them.
    this.#cancel([...this.#pending.keys()]);
    this.#failAll(() => new EngineClosedError());
    // The cancel must reach the server first, unless NATS is away.
    await Promise.race([this.#nc.flush().catch(() => {}), sleep(CLOSE_FLUSH_LIMIT_MS)]);
    if (this.#options.privateQueue === true) {
      await Promise.race([deleteQueue(this.#nc, this.#options.queue).catch(() => {}), sleep(CLOSE_FLUSH_LIMIT_MS)]);
    }
    await this.#nc.close();
  }

  #submit(n: number, lane: Lane): Promise<number> {
    if (this.#closed) return Promise.reject(new EngineClosedError());
    if (this.#down) return Promise.reject(new FibError('busy', BUSY_MESSAGE));
    const request = new Request(n);
    lane.queue.push(request);
    this.#pump(lane);
    return request.promise;
  }

  #closeLane(lane: Lane): void {
    lane.closed = true;
    this.#lanes.delete(lane);
    for (const request of lane.queue.splice(0)) request.reject(new ConnectionClosedError());
    // Jobs in the stream: the workers are told, so that they skip them (or
    // stop the one they compute); should the word come late, the answer is
    // dropped on arrival, as the job is forgotten here.
    const ids = [...lane.inStream].map((job) => job.id);
    for (const job of lane.inStream) this.#settle(job, new ConnectionClosedError());
    this.#cancel(ids);
  }

  #cancel(ids: readonly number[]): void {
    if (ids.length > 0 && !this.#nc.isClosed()) this.#nc.publish(CANCEL_SUBJECT, encodeCancel(this.#inbox, ids));
  }

  /**
   * Publishes the lane's next jobs while it has room in its window: a request
   * above BATCH_MAX_N alone, cheap ones that wait together as one batch.
   */
  #pump(lane: Lane): void {
    const { window } = this.#options;
    const { queue } = lane;
    while (lane.inStream.size < window && queue.length > 0) {
      const first = queue[0]!;
      const fault = this.#faultOf(first);
      let count = 1;
      if (first.n <= BATCH_MAX_N && fault === undefined) {
        // A request that carries a test fault travels alone, so that it kills only its own job.
        const cheap = (request: Request) => request.n <= BATCH_MAX_N && this.#faultOf(request) === undefined;
        while (count < queue.length && count < MAX_BATCH && cheap(queue[count]!)) count++;
      }
      const requests = queue.splice(0, count);
      const job = new PendingJob(++this.#nextId, requests, lane, fault);
      lane.inStream.add(job);
      this.#pending.set(job.id, job);
      this.#publish(job);
    }
  }

  /**
   * Test-only: the fault a request carries, taken from the plan once per
   * request: one per delivery that should die, two at most (the first try
   * and the retry).
   */
  #faultOf(request: Request): Job['fault'] {
    const faults = this.#options.faults;
    if (faults === null) return undefined;
    if (request.fault === null) {
      const kind = faults.take(request.n);
      request.fault =
        kind === undefined ? undefined : { kind, deliveries: faults.take(request.n) === undefined ? 1 : 2 };
    }
    return request.fault;
  }

  /**
   * A plain publish with a reply subject of its own for JetStream's
   * acknowledgement (`<inbox>.ack.<id>`), rather than the client's request
   * API: that one arms a timer and builds two Error objects per job, a
   * tenth of a front-end's CPU at depth 1. Lost acknowledgements are found by
   * one sweep (#sweepPubAcks).
   */
  #publish(job: PendingJob): void {
    const ns = job.requests.map((request) => request.n);
    const payload = encodeJob({ ns, reply: this.#inbox, id: job.id, fault: job.fault });
    const msgId = headers();
    // JetStream stores a job once per message id within the duplicate window: a retried publish is harmless.
    msgId.set(MSG_ID_HEADER, `${this.#inbox}.${job.id}.${job.generation}`);
    job.acked = false;
    job.publishedAt = Date.now();
    this.#nc.publish(this.#options.queue.subject, payload, { reply: `${this.#ackInbox}.${job.id}`, headers: msgId });
  }

  #onPubAck(msg: Msg): void {
    const id = Number(msg.subject.slice(msg.subject.lastIndexOf('.') + 1));
    const job = this.#pending.get(id);
    if (job === undefined || job.acked) return;
    // A status (503: no stream answers yet, a cluster electing its leader), or an API error.
    if ((msg.headers?.code ?? 0) !== 0) {
      this.#publishFailed(job, new Error(`publish refused: ${msg.headers?.code} ${msg.headers?.description ?? ''}`));
      return;
    }
    let ack: { seq?: unknown; error?: { description?: string } };
    try {
      ack = msg.json();
    } catch (error) {
      this.#publishFailed(job, error);
      return;
    }
    if (typeof ack.seq !== 'number') {
      this.#publishFailed(job, new Error(`publish refused: ${ack.error?.description ?? msg.string()}`));
      return;
    }
    job.acked = true;
    // A job published again (after a reconnect) is known by its latest copy.
    if (job.seq !== 0) this.#bySeq.delete(job.seq);
    job.seq = ack.seq;
    this.#bySeq.set(ack.seq, job);
  }

  /** Jobs whose publish JetStream did not acknowledge in time: tried again, under the same message id. */
  #sweepPubAcks(): void {
    const now = Date.now();
    for (const job of this.#pending.values()) {
      if (!job.acked && job.retryTimer === null && now - job.publishedAt > PUB_ACK_TIMEOUT_MS) {
        this.#publishFailed(job, new Error(`no acknowledgement from JetStream within ${PUB_ACK_TIMEOUT_MS} ms`));
      }
    }
  }

  #publishFailed(job: PendingJob, error: unknown): void {
    if (job.settled || this.#closed) return;
    if (Date.now() - job.since > OUTAGE_GRACE_MS) {
      this.#settle(job, new FibError('busy', BUSY_MESSAGE, { cause: error }));
      return;
    }
    // The same message id: if the first publish was stored after all, JetStream drops this one.
    if (job.retryTimer !== null) return;
    job.retryTimer = setTimeout(() => {
      job.retryTimer = null;
      if (!job.settled) this.#publish(job);
    }, PUBLISH_RETRY_MS);
  }

  #onAnswer(msg: Msg): void {
    const answer = decodeAnswer(msg.string());
    if (answer === null) return;
    const job = this.#pending.get(answer.id);
    // Unknown: a duplicate (a job computed twice after a redelivery), or its connection closed.
    if (job === undefined) return;
    if (!('values' in answer)) this.#settle(job, new FibError(answer.code, answer.message));
    else if (answer.values.length === job.requests.length) this.#settle(job, null, answer.values);
    else
      this.#settle(job, new Error(`job ${job.id}: ${answer.values.length} values for ${job.requests.length} requests`));
  }

  #onMaxDeliveries(msg: Msg): void {
    let seq: unknown;
    try {
      seq = (msg.json() as { stream_seq?: unknown }).stream_seq;
    } catch {
      return;
    }
    const job = typeof seq === 'number' ? this.#bySeq.get(seq) : undefined;
    if (job !== undefined) {
      this.#settle(job, new FibError('internal', 'the workers computing this request died, three times'));
    }
  }

  #settle(job: PendingJob, error: unknown, values: readonly number[] = []): void {
    if (job.settled) return;
    job.settled = true;
    if (job.retryTimer !== null) clearTimeout(job.retryTimer);
    this.#pending.delete(job.id);
    if (job.seq !== 0) this.#bySeq.delete(job.seq);
    const { lane } = job;
    lane.inStream.delete(job);
    job.requests.forEach((request, i) => {
      if (error === null) request.resolve(values[i]!);
      else request.reject(error);
    });
    if (!lane.closed) this.#pump(lane);
  }

  #failAll(reason: () => unknown): void {
    for (const lane of this.#lanes) {
      for (const request of lane.queue.splice(0)) request.reject(reason());
    }
    for (const job of [...this.#pending.values()]) this.#settle(job, reason());
  }

  async #watchStatus(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (this.#closed) return;
      if (status.type === 'disconnect') this.#onDisconnect();
      else if (status.type === 'reconnect') this.#onReconnect();
    }
  }

  #onDisconnect(): void {
    this.emit('log', `lost the NATS connection; requests wait up to ${OUTAGE_GRACE_MS} ms for it to come back`);
    this.#outageTimer ??= setTimeout(() => {
      this.#down = true;
      this.emit('log', `NATS still unreachable after ${OUTAGE_GRACE_MS} ms: pending requests answered ERR busy`);
      this.#abandoned.push(...this.#pending.keys());
      this.#failAll(() => new FibError('busy', BUSY_MESSAGE));
    }, OUTAGE_GRACE_MS);
  }

  #onReconnect(): void {
    if (this.#outageTimer !== null) clearTimeout(this.#outageTimer);
    this.#outageTimer = null;
    this.#down = false;
    this.emit('log', `reconnected to NATS at ${this.#nc.getServer()}`);
    this.#cancel(this.#abandoned.splice(0));
    void this.#restoreQueue().then(() => this.#publishAgain());
  }

  /**
   * A server that restarted has lost a memory stream, its consumer with it
   * (and a cluster that restarted whole, even a file one): made again before
   * the jobs go out again. Publishes meanwhile are refused and retried.
   */
  async #restoreQueue(): Promise<void> {
    try {
      await setUpQueue(this.#nc, this.#options.queue, this.#options.stream, (line) => this.emit('log', line));
    } catch (error) {
      // Left to the publishes' own retries, then ERR busy past the grace.
      this.emit('log', `could not set the work queue up again: ${error instanceof Error ? error.message : error}`);
    }
  }

  #publishAgain(): void {
    if (this.#closed) return;
    // Answers sent while we were away are lost (core NATS keeps none): every
    // job still unanswered goes out again, under a new message id so that
    // JetStream stores it even if the first copy is still there. A job done
    // twice is answered once; the second answer finds no pending job.
    const now = Date.now();
    for (const job of this.#pending.values()) {
      job.generation++;
      job.since = now;
      if (job.retryTimer !== null) clearTimeout(job.retryTimer);
      job.retryTimer = null;
      this.#publish(job);
    }
  }
}
