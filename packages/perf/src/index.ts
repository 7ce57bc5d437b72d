export { runLoad, expectedFib } from './lib/engine.js';
export {
  LOAD_OPTIONS,
  resolveOptions,
  type Arrivals,
  type LatencyInterval,
  type LoadOptions,
  type ResolvedOptions,
  type Tick,
} from './lib/options.js';
export type { LoadResult, Outcomes, RateStats, SecondOfRun, StopReason } from './lib/result.js';
export { rateStats } from './lib/result.js';
export { SPECTRUM, type IntervalLatency, type LatencySummary } from './lib/latency.js';
export { formatSummary, formatMicros, formatSpectrum } from './lib/report.js';
export { formatProgress, type ProgressState } from './lib/progress.js';
export { compareRuns, formatComparison, type Comparison, type Metric } from './lib/compare.js';
export { welchTest, studentTwoSided, regularizedBeta, type WelchResult } from './lib/welch.js';
export { EXIT, main, parseCommand, PERF1, PERF2, type Tool } from './lib/cli.js';
