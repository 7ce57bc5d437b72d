// @fib/core/cli: the command-line layer alone, for bins that are not servers
// (fib-perf1, fib-perf2, the benchmark lab) and should not load the server code.
export {
  checkOption,
  convertText,
  describeRange,
  envName,
  EXIT_USAGE,
  formatOptions,
  formatUsageError,
  OptionError,
  parseCommandLine,
  parseSeconds,
  parseTarget,
  suggestFlag,
  type CommandLineConfig,
  type EnvConfig,
  type OptionKind,
  type OptionSpec,
  type OptionTable,
  type OptionValue,
  type ParsedCommandLine,
  type Target,
} from './lib/command-line.js';
