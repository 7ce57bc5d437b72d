export { runLoad, expectedFib } from './lib/engine.js';
export { resolveOptions, type LoadOptions, type ResolvedOptions, type Tick } from './lib/options.js';
export type { LoadResult, Outcomes, StopReason } from './lib/result.js';
export type { LatencySummary } from './lib/latency.js';
export { formatSummary, formatMicros } from './lib/report.js';
export { main, parseCommand, PERF1, PERF2, type Tool } from './lib/cli.js';
