// Everything a worker needs (fib, the message envelope, the child-process
// set-up, the socket host) is in './worker.js' and exported from here too.
export * from './worker.js';
export { inlineSession } from './lib/session.js';
export { Connection, connectionLimits, type ConnectionLimits, type SharedState } from './lib/connection.js';
export {
  OPTION_NAMES,
  OPTION_SPECS,
  ENV_PREFIX,
  ENV_ALIASES,
  OptionError,
  parseArgs,
  resolveOptions,
  usage,
  type OptionName,
  type OptionPolicy,
  type ParsedArgs,
  type ServerOptions,
  type ServerOptionSpec,
  type StartOptions,
} from './lib/options.js';
export { reporterFor, serve, startServer, type ServeExtras } from './lib/server.js';
export { runCli, strategyProgram } from './lib/cli.js';
export {
  ShutdownTimeoutError,
  type ComputeEngine,
  type Engine,
  type HandoffEngine,
  type ServerContext,
  type RunningServer,
  type ServerProgram,
  type Session,
  type Strategy,
} from './lib/strategy.js';
export { retryOnce } from './lib/retry.js';
export {
  DEFAULT_HOP_N,
  Dispatcher,
  poolDispatcher,
  type DispatcherOptions,
  type DispatchSession,
} from './lib/dispatch/dispatcher.js';
export { describeJobs, taskOf } from './lib/dispatch/task.js';
export { FairQueue } from './lib/dispatch/fair-queue.js';
export { Job, Lane } from './lib/dispatch/job.js';
export { inlineUpTo } from './lib/dispatch/inline.js';
export {
  ConnectionClosedError,
  EngineClosedError,
  WorkerDiedError,
  WorkerError,
  WorkerStartError,
} from './lib/errors.js';
export { reason, silent, type Reporter, type ServerEvent } from './lib/events.js';
export { describeExit, processHandle, threadHandle, type WorkerExit, type WorkerHandle } from './lib/workers/handle.js';
export {
  MAX_START_FAILURES,
  READY_TIMEOUT_MS,
  STOP_GRACE_MS,
  startWarm,
  Supervisor,
  warmUp,
  type SupervisorOptions,
  type WorkerDeath,
} from './lib/workers/supervisor.js';
export {
  HandoffPort,
  HandoffQueue,
  MAX_HANDOFFS,
  hostConfig,
  type HostConfig,
} from './lib/workers/handoff.js';
export {
  CODE_OK,
  HistogramData,
  LATENCY_BUCKETS,
  REQUEST_CODES,
  RequestStats,
  codeIndex,
  type HistogramSnapshot,
  type RequestCode,
  type RequestStatsSnapshot,
} from './lib/stats.js';
export {
  ServerMetrics,
  trackSupervisor,
  type GaugeSources,
  type MetricJson,
  type MetricValueJson,
  type MetricsJson,
  type MetricsOptions,
} from './lib/metrics.js';
export { METRICS_PATH, serveMetrics, urlHost, type MetricsEndpoint, type MetricsSource } from './lib/metrics-http.js';
export {
  LOG_FORMATS,
  LOG_LEVELS,
  NO_LOG,
  createLogger,
  jsonLogger,
  logReporter,
  reportingLogger,
  textLogger,
  type LogFields,
  type LogFormat,
  type LogLevel,
  type LogRecord,
  type LogSink,
  type Logger,
  type LoggerOptions,
} from './lib/log.js';
export { notifyReady } from './lib/readiness.js';
export { findOnPath, tiedToParent, type Command } from './lib/tied.js';
export { reloader, type ReloadResult, type Reloader } from './lib/reload.js';
export { WORKER_METRICS_TIMEOUT_MS, WorkerMetrics, answerMetrics } from './lib/workers/metrics-ipc.js';
