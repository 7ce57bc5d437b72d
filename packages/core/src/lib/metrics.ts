import { AggregatorRegistry, Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { type HistogramData, REQUEST_CODES, RequestStats } from './stats.js';
import type { Supervisor } from './workers/supervisor.js';

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
  /** prom-client's default process metrics (CPU, memory, event loop lag, GC). Default: true. */
  readonly processMetrics?: boolean;
}

/** Read when Prometheus scrapes, so that they cost nothing per request or connection. */
export interface GaugeSources {
  connectionsOpen?: () => number;
  jobsPending?: () => number;
}

/**
 * A registry of one server's metrics: the request counters and histograms of
 * `stats` (filled by the connections), gauges read from `sources` at scrape
 * time, and prom-client's default process metrics. An engine with workers
 * adds fib_workers and fib_worker_restarts_total (`trackWorkers`), one with a
 * queue fib_queue_wait_seconds (`trackQueue`). A primary that runs workers in
 * other processes adds their metrics through `setRemote`.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly stats = new RequestStats();
  readonly #sources: GaugeSources = {};
  #restarts: Counter | null = null;
  #workers: (() => number) | null = null;
  #queue = false;
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
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Where the gauges read their values; a later call replaces the sources it names. */
  track(sources: GaugeSources): void {
    Object.assign(this.#sources, sources);
  }

  /**
   * The engine runs workers: `count` says how many are up now (fib_workers);
   * `workerRestarted` counts replacements (fib_worker_restarts_total). A later
   * call replaces `count`.
   */
  trackWorkers(count: () => number): void {
    if (this.#workers === null) {
      const up = () => this.#workers?.() ?? 0;
      new Gauge({
        name: 'fib_workers',
        help: 'Workers (threads or processes) up now',
        registers: [this.registry],
        collect() {
          this.set(up());
        },
      });
      this.#restarts = new Counter({
        name: 'fib_worker_restarts_total',
        help: 'Workers started to replace one that died or was recycled',
        registers: [this.registry],
      });
    }
    this.#workers = count;
  }

  workerRestarted(): void {
    this.#restarts?.inc();
  }

  /**
   * The engine has a job queue: fib_queue_wait_seconds is exported, and the
   * engine observes into the histogram returned (seconds from a job's
   * arrival to a worker taking it).
   */
  trackQueue(): HistogramData {
    if (!this.#queue) {
      this.#queue = true;
      register(
        this.registry,
        new HistogramCollector(
          'fib_queue_wait_seconds',
          'Seconds a compute job waited for a free worker',
          this.stats.queueWait,
        ),
      );
    }
    return this.stats.queueWait;
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
 * fib_workers and fib_worker_restarts_total for the workers of `supervisor`:
 * those ready now, and, for a pool whose dead are replaced (`replaces`), one
 * restart per worker that ended without being asked to.
 */
export function trackSupervisor(metrics: ServerMetrics, supervisor: Supervisor, replaces: boolean): void {
  metrics.trackWorkers(() => supervisor.ready.length);
  if (replaces) {
    supervisor.on('exit', (death) => {
      if (!death.expected) metrics.workerRestarted();
    });
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
