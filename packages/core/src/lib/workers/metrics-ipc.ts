import type { MetricsJson, ServerMetrics } from '../metrics.js';
import type { RequestStatsSnapshot } from '../stats.js';
import { envelope, isEnvelope, type Envelope } from './envelope.js';
import type { WorkerHandle } from './handle.js';

/**
 * A server whose connections are served in worker processes (cluster, fork)
 * counts what they do: on every scrape it asks each worker for its registry
 * and sums them with its own (prom-client's AggregatorRegistry); a worker
 * that ends on purpose sends its last counts first, and they are added to the
 * server's own, so that a reload does not make the counters go back.
 */
type Ask = Envelope<'metrics?', { id: number }>;
type Answer = Envelope<'metrics', { id: number; metrics: MetricsJson }>;
type Last = Envelope<'metrics-last', { stats: RequestStatsSnapshot }>;

/** How long a scrape waits for a worker (one busy computing a long fib answers late): then it is left out. */
export const WORKER_METRICS_TIMEOUT_MS = 2000;

/**
 * The parent's side: asks its workers for their metrics on every scrape, and
 * keeps the last counts of those that ended, in the server's own stats.
 */
export class WorkerMetrics {
  readonly #metrics: ServerMetrics;
  /** Workers that count: attached, not gone, and not yet sent their last counts. */
  readonly #live = new Set<WorkerHandle>();
  readonly #waiting = new Map<WorkerHandle, Map<number, (metrics: MetricsJson | null) => void>>();
  #nextId = 0;

  constructor(metrics: ServerMetrics) {
    this.#metrics = metrics;
    metrics.setRemote(() => this.collect());
  }

  /** Counts `worker` in from now on; call once per worker, when it is ready. */
  attach(worker: WorkerHandle): void {
    const waiting = new Map<number, (metrics: MetricsJson | null) => void>();
    this.#live.add(worker);
    this.#waiting.set(worker, waiting);
    const leave = () => {
      this.#live.delete(worker);
      this.#waiting.delete(worker);
      for (const settle of waiting.values()) settle(null);
    };
    worker.onMessage((message) => {
      if (!isEnvelope<Answer | Last>(message)) return;
      if (message['@fib'] === 'metrics') waiting.get(message.id)?.(message.metrics);
      else if (message['@fib'] === 'metrics-last' && this.#live.has(worker)) {
        // From now on its counts are the server's own: asking it again would count them twice.
        this.#metrics.stats.merge(message.stats);
        leave();
      }
    });
    void worker.exited.then(leave);
  }

  /** The registries of the live workers, those that answer within the timeout. */
  async collect(): Promise<MetricsJson[]> {
    const id = ++this.#nextId;
    const answers = await Promise.all([...this.#live].map((worker) => this.#ask(worker, id)));
    return answers.filter((answer): answer is MetricsJson => answer !== null);
  }

  #ask(worker: WorkerHandle, id: number): Promise<MetricsJson | null> {
    const waiting = this.#waiting.get(worker);
    if (waiting === undefined) return Promise.resolve(null);
    return new Promise((resolve) => {
      const settle = (metrics: MetricsJson | null) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(metrics);
      };
      const timer = setTimeout(() => settle(null), WORKER_METRICS_TIMEOUT_MS);
      waiting.set(id, settle);
      const ask: Ask = envelope('metrics?', { id });
      if (!worker.send(ask)) settle(null);
    });
  }
}

/**
 * The worker's side: answers its parent's scrapes with `metrics`, over
 * `process.send`. Returns `sendLast`, which a worker that ends on purpose
 * calls (then waits for `done`) so that its counts outlive it.
 */
export function answerMetrics(metrics: ServerMetrics): { sendLast(done: () => void): void } {
  let last = false;
  process.on('message', (message: unknown) => {
    if (last || !isEnvelope<Ask>(message) || message['@fib'] !== 'metrics?') return;
    void metrics.json().then((json) => {
      const answer: Answer = envelope('metrics', { id: message.id, metrics: json });
      if (process.connected) process.send!(answer);
    });
  });
  return {
    sendLast(done) {
      last = true;
      const final: Last = envelope('metrics-last', { stats: metrics.stats.snapshot() });
      if (!process.connected) {
        done();
        return;
      }
      process.send!(final, undefined, undefined, () => done());
    },
  };
}
