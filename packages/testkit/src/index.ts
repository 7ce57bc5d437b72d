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
export {
  ageMs,
  children,
  clientPortsHeld,
  connectionOwners,
  cpuTicks,
  descendants,
  isAlive,
  threadCount,
  untilOneComputes,
  waitGone,
} from './lib/processes.js';
export {
  CHAOS_DEFAULTS,
  chaosSeed,
  chaosSuite,
  formatReport,
  runChaos,
  type ChaosCheck,
  type ChaosOptions,
  type ChaosReport,
} from './lib/chaos.js';
export type { ChaosFigures } from './lib/chaos-load.js';
export {
  CHAOS_STRATEGIES,
  CHAOS_TARGETS,
  chaosLaunch,
  type ChaosStrategy,
  type ChaosTarget,
} from './lib/chaos-targets.js';
export { workerProcessSuite, type WorkerProcessConfig } from './lib/worker-processes.js';
export { workerThreadSuite, type WorkerThreadConfig } from './lib/worker-threads.js';
export { until } from './lib/until.js';
export { dispatchSuite, type DispatchConfig } from './lib/dispatch.js';
export { metricsUrl, sample, scrape } from './lib/metrics.js';
export { operationsSuite, type OperationsConfig } from './lib/operations.js';
export { reloadUnderLoad } from './lib/reload-load.js';
export {
  checkPersistentReloads,
  reloadsUnderPersistentLoad,
  type PersistentReloads,
  type PersistentTally,
} from './lib/persistent-reloads.js';
