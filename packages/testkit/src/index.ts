export { conformance, type ConformanceConfig } from './lib/conformance.js';
export { RawClient, sendWithinIdleWindow } from './lib/raw-client.js';
export {
  binPath,
  killIfRunning,
  runBin,
  serverStarter,
  startBin,
  type BinRun,
  type Exit,
  type RunOptions,
  type ServerRun,
} from './lib/spawn.js';
export { connectionOwners, descendants, isAlive, waitGone } from './lib/processes.js';
export { workerProcessSuite, type WorkerProcessConfig } from './lib/worker-processes.js';
export { workerThreadSuite, type WorkerThreadConfig } from './lib/worker-threads.js';
export { until } from './lib/until.js';
export { metricsUrl, sample, scrape } from './lib/metrics.js';
export { operationsSuite, type OperationsConfig } from './lib/operations.js';
