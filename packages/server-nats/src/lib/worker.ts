import { EventEmitter } from 'node:events';
import { RequestError, createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { fib } from '@fib/core/worker';
import { enactWorkerFault } from '@fib/core/testing';
import { ComputeThread } from './compute.js';
import { connectNats } from './connect.js';
import {
  ACK,
  ACK_NEXT,
  CANCEL_SUBJECT,
  GIVE_UP_DELIVERY,
  INLINE_MAX_N,
  PROGRESS,
  PROGRESS_EVERY_MS,
  PULL_LOST_MS,
  PULL_ONE,
  TERMINATE,
  aliveSubject,
  decodeCancel,
  decodeJob,
  deliveryCount,
  encodeError,
  encodeValues,
  jobKey,
  queueNames,
  type Job,
  type QueueNames,
} from './wire.js';

/** How often idle slots are checked for a pull that was lost. */
const SWEEP_EVERY_MS = 1000;
/** After "no consumer yet" (no front-end has made the queue) or a refused pull: ask again after this. */
const PULL_RETRY_MS = 1000;
/** A stopping worker waits this long at most for the jobs in hand, then leaves them to JetStream's redelivery. */
export const STOP_GRACE_MS = 5000;
const NAK = '-NAK';
/**
 * Cancelled jobs remembered, for when they come out of the queue later: the
 * oldest are forgotten beyond this count or age (a forgotten one is computed,
 * and its answer dropped by the front-end).
 */
const MAX_CANCELLED = 100_000;
const CANCEL_MEMORY_MS = 10 * 60_000;
/** How long a worker waits for a front-end's "alive" answer; a stalled one is given the benefit of the doubt. */
const ALIVE_TIMEOUT_MS = 2000;
/** A long job's front-end is asked whether it still runs every this many progress signals (every 2 s). */
const ALIVE_EVERY_PROGRESS = 4;

export interface WorkerOptions {
  /** NATS URLs (one server or a cluster's). */
  readonly servers: readonly string[];
  /** Jobs computed at once: one slot each, each with its own compute thread. */
  readonly concurrency: number;
  /** The name this worker shows to the NATS server. */
  readonly name?: string;
  /** Keep trying to reach NATS at start instead of failing (a host that boots before NATS). */
  readonly waitForServer?: boolean;
  /** Lines worth logging while it starts (later ones are 'log' events). */
  readonly log?: (line: string) => void;
  /** The stream and its consumer exist already (a front-end's own local worker): do not check. */
  readonly queueExists?: boolean;
  /** The queue's name (`--queue`); default: the default queue. */
  readonly queue?: string;
}

/** Until a front-end has created the stream and its consumer (a worker host may start first). */
async function waitForQueue(nc: NatsConnection, names: QueueNames, log: (line: string) => void): Promise<void> {
  // Loaded only here: a front-end's local worker never checks, and starts faster without it.
  const { JetStreamApiError, jetstreamManager } = await import('@nats-io/jetstream');
  const jsm = await jetstreamManager(nc);
  for (let said = false; ; said = true) {
    try {
      await jsm.consumers.info(names.stream, names.consumer);
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.status !== 404) throw error;
    }
    if (!said) log(`waiting for the work queue (stream ${names.stream}): no front-end has created it yet`);
    await new Promise((resolve) => setTimeout(resolve, PULL_RETRY_MS));
  }
}

/** One job slot: it asks for a job only when it is free (the pull model). */
class Slot {
  /** Its own inbox: a pull answered here belongs to this slot, whatever else is in flight. */
  readonly inbox: string;
  /** A pull is out and not answered yet; when it went out (to notice a lost one). */
  pulledAt = 0;
  busy = false;
  /** The job in hand (`jobKey`) and its message, for a cancel that names it. */
  current: { readonly key: string; readonly msg: Msg } | null = null;
  /** Its job in hand was cancelled (rather than cut short by a stop). */
  cancelled = false;
  thread: ComputeThread | null = null;
  retryTimer: NodeJS.Timeout | null = null;

  constructor(
    base: string,
    readonly index: number,
  ) {
    this.inbox = `${base}.${index}`;
  }
}

export interface NatsWorkerEvents {
  /** A line worth logging (the library never writes to the console itself). */
  log: [line: string];
  /** The worker cannot go on (a compute thread died): the process should exit and let JetStream redeliver. */
  fatal: [error: Error];
}

/**
 * A worker: pulls jobs from the shared durable consumer, one per free slot,
 * computes them and answers on the asking front-end's inbox. Acknowledging a
 * job and asking for the next travel in one message (`+NXT`). A job delivered
 * for the third time (two workers died on it) is answered `ERR internal`.
 */
export class NatsWorker extends EventEmitter<NatsWorkerEvents> {
  readonly #nc: NatsConnection;
  readonly #slots: Slot[];
  readonly #subscriptions: Subscription[];
  readonly #names: QueueNames;
  readonly #pullSubject: string;
  readonly #sweeper: NodeJS.Timeout;
  #stopping: Promise<void> | null = null;
  #waitingForQueue = false;
  /** Cancelled job keys, oldest first, with when they were cancelled. */
  readonly #cancelled = new Map<string, number>();

  private constructor(nc: NatsConnection, concurrency: number, names: QueueNames) {
    super();
    this.#nc = nc;
    this.#names = names;
    this.#pullSubject = names.pull;
    const base = createInbox();
    this.#slots = Array.from({ length: concurrency }, (_, i) => new Slot(base, i));
    // One subscription per slot: JetStream delivers a pulled job under its
    // own subject (fib.jobs), so only the subscription tells whose pull it answers.
    this.#subscriptions = this.#slots.map((slot) =>
      nc.subscribe(slot.inbox, {
        callback: (error, msg) => {
          if (error === null) this.#onMessage(slot, msg);
        },
      }),
    );
    this.#subscriptions.push(
      nc.subscribe(CANCEL_SUBJECT, {
        callback: (error, msg) => {
          if (error === null) this.#onCancel(msg.string());
        },
      }),
    );
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_EVERY_MS);
    this.#sweeper.unref();
    void this.#watchStatus();
  }

  /** Connects and starts pulling; resolves once the pulls are out. */
  static async start(options: WorkerOptions): Promise<NatsWorker> {
    const nc = await connectNats(options.servers, options.name ?? 'fib-worker-nats', options.waitForServer ?? false);
    const names = queueNames(options.queue);
    const worker = new NatsWorker(nc, options.concurrency, names);
    // A pull to a consumer that does not exist yet is dropped without a word: wait for it first.
    if (options.queueExists !== true) await waitForQueue(nc, names, options.log ?? (() => {}));
    // The subscription must reach the server before the first pull's answer can.
    await nc.flush();
    for (const slot of worker.#slots) worker.#pull(slot);
    await nc.flush();
    return worker;
  }

  /** The NATS server this worker is connected to now. */
  get server(): string {
    return this.#nc.getServer();
  }

  /** Jobs in hand right now. */
  get busy(): number {
    return this.#slots.filter((slot) => slot.busy).length;
  }

  /**
   * Stops pulling, finishes the jobs in hand (up to STOP_GRACE_MS; beyond it
   * JetStream gives them to another worker), then closes the connection.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    clearInterval(this.#sweeper);
    const deadline = Date.now() + STOP_GRACE_MS;
    while (this.busy > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const slot of this.#slots) {
      if (slot.retryTimer !== null) clearTimeout(slot.retryTimer);
      slot.thread?.terminate();
    }
    // Pulls still out may deliver a job now: the subscription ends first, and
    // a job delivered to nobody returns to the queue once its ack-wait passes.
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
    await this.#nc.close();
  }

  #pull(slot: Slot): void {
    if (this.#stopping !== null) return;
    slot.pulledAt = Date.now();
    this.#nc.publish(this.#pullSubject, PULL_ONE, { reply: slot.inbox });
  }

  /** Pulls again later: the consumer is missing or refused the pull. */
  #pullLater(slot: Slot): void {
    slot.pulledAt = 0;
    slot.retryTimer ??= setTimeout(() => {
      slot.retryTimer = null;
      this.#pull(slot);
    }, PULL_RETRY_MS);
  }

  #onCancel(text: string): void {
    const now = Date.now();
    for (const key of decodeCancel(text)) {
      const slot = this.#slots.find((candidate) => candidate.current?.key === key);
      if (slot !== undefined) {
        // Stops fib where it is; #computeOffThread then acknowledges the job and pulls the next.
        slot.cancelled = true;
        slot.thread?.terminate();
        slot.thread = null;
        continue;
      }
      this.#cancelled.set(key, now);
      if (this.#cancelled.size > MAX_CANCELLED) this.#cancelled.delete(this.#cancelled.keys().next().value!);
    }
  }

  /** A pull can vanish with a restarted server or a consumer leader that moved: renew the stale ones. */
  #sweep(): void {
    const now = Date.now();
    for (const [key, at] of this.#cancelled) {
      if (now - at < CANCEL_MEMORY_MS) break;
      this.#cancelled.delete(key);
    }
    for (const slot of this.#slots) {
      if (!slot.busy && slot.pulledAt !== 0 && now - slot.pulledAt > PULL_LOST_MS) this.#pull(slot);
    }
  }

  async #watchStatus(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === 'reconnect') {
        this.emit('log', `reconnected to NATS at ${this.#nc.getServer()}`);
        void this.#pullAfterReconnect();
      } else if (status.type === 'disconnect') {
        this.emit('log', 'lost the NATS connection; reconnecting');
      }
    }
  }

  /**
   * Pulls made before the disconnect died with it. A server that restarted
   * may have lost the queue (a memory stream) until a front-end makes it
   * again; a pull to a missing consumer is dropped without a word, so the
   * worker waits for the consumer first.
   */
  async #pullAfterReconnect(): Promise<void> {
    try {
      await waitForQueue(this.#nc, this.#names, (line) => this.emit('log', line));
    } catch (error) {
      // NATS went away again: the next reconnect starts over; meanwhile the sweep renews lost pulls.
      if (this.#nc.isClosed()) return;
      this.emit('log', `while waiting for the work queue: ${error instanceof Error ? error.message : error}`);
    }
    for (const slot of this.#slots) if (!slot.busy) this.#pull(slot);
  }

  #onMessage(slot: Slot, msg: Msg): void {
    const status = msg.headers?.code ?? 0;
    if (status !== 0 || msg.data.length === 0) {
      this.#onStatus(slot, status, msg.headers?.description ?? '');
      return;
    }
    if (this.#stopping !== null || slot.busy) {
      // Not ours to compute now: back to the queue at once, for another worker.
      msg.respond(NAK);
      return;
    }
    slot.pulledAt = 0;
    this.#waitingForQueue = false;
    const job = decodeJob(msg.string());
    if (job === null) {
      // Not a job this version understands: no worker ever will.
      msg.respond(TERMINATE);
      this.#pull(slot);
      return;
    }
    const key = jobKey(job);
    if (this.#cancelled.delete(key)) {
      // Nobody waits for it: done, as far as the queue is concerned.
      msg.respond(ACK_NEXT, { reply: slot.inbox });
      slot.pulledAt = Date.now();
      return;
    }
    const deliveries = deliveryCount(msg.reply ?? '');
    if (deliveries >= GIVE_UP_DELIVERY) {
      this.#nc.publish(job.reply, encodeError(job.id, 'internal', 'the worker computing this request died, twice'));
      msg.respond(TERMINATE);
      this.#pull(slot);
      return;
    }
    if (job.fault !== undefined && deliveries <= job.fault.deliveries) {
      void enactWorkerFault(job.fault.kind);
      return;
    }
    const [first] = job.ns;
    if (job.ns.length > 1 || first! <= INLINE_MAX_N) {
      // A batch holds only cheap requests (BATCH_MAX_N): all of it runs here.
      this.#nc.publish(job.reply, encodeValues(job.id, job.ns.map(fib)));
      msg.respond(ACK_NEXT, { reply: slot.inbox });
      slot.pulledAt = Date.now();
      return;
    }
    void this.#computeOffThread(slot, msg, job, key);
  }

  async #computeOffThread(slot: Slot, msg: Msg, job: Job, key: string): Promise<void> {
    slot.busy = true;
    slot.current = { key, msg };
    let value: number | null = null;
    try {
      // A cancel may come while the front-end is asked: it counts too.
      if ((await this.#frontEndAlive(job)) && !slot.cancelled) {
        slot.thread ??= new ComputeThread((error) => this.emit('fatal', error));
        const thread = slot.thread;
        let ticks = 0;
        const progress = setInterval(() => {
          msg.respond(PROGRESS);
          if (++ticks % ALIVE_EVERY_PROGRESS === 0) {
            void this.#frontEndAlive(job).then((alive) => {
              if (alive || slot.current?.key !== key) return;
              slot.cancelled = true;
              thread.terminate();
              if (slot.thread === thread) slot.thread = null;
            });
          }
        }, PROGRESS_EVERY_MS);
        try {
          value = await thread.run(job.ns[0]!);
        } finally {
          clearInterval(progress);
        }
      } else {
        // Its front-end is gone, or it cancelled the job: nobody waits for the answer.
        slot.cancelled = true;
      }
    } finally {
      slot.busy = false;
      slot.current = null;
    }
    const cancelled = slot.cancelled;
    slot.cancelled = false;
    if (value === null && !cancelled) {
      // Cut short by a stop that could not wait: back to the queue, for another worker.
      msg.respond(NAK);
      return;
    }
    // null: cancelled while it computed; nobody waits for an answer.
    if (value !== null) this.#nc.publish(job.reply, encodeValues(job.id, [value]));
    if (this.#stopping === null) {
      msg.respond(ACK_NEXT, { reply: slot.inbox });
      slot.pulledAt = Date.now();
    } else {
      msg.respond(ACK);
    }
  }

  /** Whether the job's front-end still runs (see aliveSubject); true when it does not say in time. */
  async #frontEndAlive(job: Job): Promise<boolean> {
    try {
      await this.#nc.request(aliveSubject(job.reply), '', { timeout: ALIVE_TIMEOUT_MS });
      return true;
    } catch (error) {
      return !(error instanceof RequestError && error.isNoResponders());
    }
  }

  #onStatus(slot: Slot, status: number, description: string): void {
    switch (status) {
      // 408: the pull expired with no job (or the server cut it short): an idle slot asks again.
      case 408:
        this.#pull(slot);
        return;
      // 503: nobody answers the pull subject: no front-end has created the queue yet.
      case 503:
        if (!this.#waitingForQueue) {
          this.#waitingForQueue = true;
          this.emit('log', 'waiting for the work queue: no front-end has created it yet');
        }
        this.#pullLater(slot);
        return;
      // 100: a heartbeat; others (409: too many pulls waiting, consumer deleted, leader changed) are pulled again later.
      case 100:
        return;
      default:
        this.emit('log', `pull refused (${status} ${description}); pulling again in ${PULL_RETRY_MS} ms`);
        this.#pullLater(slot);
    }
  }
}
