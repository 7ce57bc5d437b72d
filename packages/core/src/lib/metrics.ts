import { AggregatorRegistry, Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { type HistogramData, REQUEST_CODES, RequestStats } from './stats.js';

/** One value of a metric as `getMetricsAsJSON` gives it (prom-client does not export this type). */
export interface MetricValueJson {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** One metric as `getMetricsAsJSON` gives it. */
export interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: MetricValueJson[];
}

/** One registry's metrics: the form a worker process sends to its primary. */
export type MetricsJson = MetricJson[];

export interface MetricsOptions {
  /** The strategy has workers: export fib_workers and fib_worker_restarts_total. */
  readonly workers?: boolean;
  /** The strategy has a job queue: export fib_queue_wait_seconds. */
  readonly queue?: boolean;
  /** prom-client's default process metrics (CPU, memory, event loop lag, GC). Default: true. */
  readonly processMetrics?: boolean;
}

/** Read when Prometheus scrapes, so that they cost nothing per request or connection. */
export interface GaugeSources {
  connectionsOpen?: () => number;
  jobsPending?: () => number;
  workers?: () => number;
}

/**
 * A registry of one server's metrics: the request counters and histograms of
 * `stats` (filled by the connections), gauges read from `sources` at scrape
 * time, worker restarts, and prom-client's default process metrics. A primary
 * that runs workers in other processes adds theirs through `setRemote`.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly stats = new RequestStats();
  readonly #sources: GaugeSources = {};
  readonly #restarts: Counter | null = null;
  #remote: (() => Promise<MetricsJson[]>) | null = null;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const stats = this.stats;
    register(this.registry, new CodeCounter(stats.codes));
    register(
      this.registry,
      new HistogramCollector(
        'fib_request_duration_seconds',
        'Seconds from the read that brought a request to the write of its answer',
        stats.duration,
      ),
    );
    if (options.queue === true) {
      register(
        this.registry,
        new HistogramCollector(
          'fib_queue_wait_seconds',
          'Seconds a compute job waited for a free worker',
          stats.queueWait,
        ),
      );
    }
    const sources = this.#sources;
    const sampled = (name: string, help: string, read: (s: GaugeSources) => (() => number) | undefined) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(sources)?.() ?? 0);
        },
      });
    sampled('fib_connections_open', 'Client connections open now', (s) => s.connectionsOpen);
    sampled('fib_jobs_pending', 'Compute jobs handed out and not answered yet', (s) => s.jobsPending);
    if (options.workers === true) {
      sampled('fib_workers', 'Workers (threads or processes) running now', (s) => s.workers);
      this.#restarts = new Counter({
        name: 'fib_worker_restarts_total',
        help: 'Workers replaced after they died or were recycled',
        registers,
      });
    }
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Where the gauges read their values; a later call replaces the sources it names. */
  track(sources: GaugeSources): void {
    Object.assign(this.#sources, sources);
  }

  workerRestarted(): void {
    this.#restarts?.inc();
  }

  /**
   * The metrics of workers living in other processes, asked for on every
   * scrape and summed with this registry's (prom-client's AggregatorRegistry):
   * the cluster primary serves one endpoint for all its workers.
   */
  setRemote(fetch: (() => Promise<MetricsJson[]>) | null): void {
    this.#remote = fetch;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** This registry alone, as a worker sends it to its primary. */
  json(): Promise<MetricsJson> {
    return this.registry.getMetricsAsJSON() as unknown as Promise<MetricsJson>;
  }

  /** The Prometheus text exposition, workers in other processes included. */
  async text(): Promise<string> {
    if (this.#remote === null) return this.registry.metrics();
    const [local, remote] = await Promise.all([this.json(), this.#remote()]);
    return AggregatorRegistry.aggregate([local, ...remote]).metrics();
  }
}

/**
 * prom-client keeps a metric's values in objects keyed by a label hash it
 * computes on every observation; ours live in typed arrays instead, and these
 * collectors turn them into prom-client's exposition form when scraped. The
 * registry accepts any object with `name` and `get()` (prom-client's own
 * aggregated registries register such objects), which is what they are.
 */
interface Collector {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<MetricJson>;
  /** prom-client's resetMetrics(): our counts are the server's, never reset. */
  reset(): void;
}

function register(registry: Registry, collector: Collector): void {
  registry.registerMetric(collector as unknown as Metric);
}

class CodeCounter implements Collector {
  readonly name = 'fib_requests_total';
  readonly help = 'Requests answered, by answer: ok or the ERR code';
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly #codes: Float64Array;

  constructor(codes: Float64Array) {
    this.#codes = codes;
  }

  async get(): Promise<MetricJson> {
    const codes = this.#codes;
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: REQUEST_CODES.map((code, i) => ({ labels: { code }, value: codes[i]! })),
    };
  }

  reset(): void {}
}

class HistogramCollector implements Collector {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly #data: HistogramData;

  constructor(name: string, help: string, data: HistogramData) {
    this.name = name;
    this.help = help;
    this.#data = data;
  }

  async get(): Promise<MetricJson> {
    const { bounds, counts, sum } = this.#data;
    const bucket = `${this.name}_bucket`;
    const values: MetricValueJson[] = [];
    let cumulative = 0;
    for (let i = 0; i < bounds.length; i++) {
      cumulative += counts[i]!;
      values.push({ metricName: bucket, labels: { le: bounds[i]! }, value: cumulative });
    }
    cumulative += counts[bounds.length]!;
    values.push(
      { metricName: bucket, labels: { le: '+Inf' }, value: cumulative },
      { metricName: `${this.name}_sum`, labels: {}, value: sum },
      { metricName: `${this.name}_count`, labels: {}, value: cumulative },
    );
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }

  reset(): void {}
}
