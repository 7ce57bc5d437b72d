#!/usr/bin/env node
// The chaos run of the test suite, for longer: see USAGE.
import { parseArgs } from 'node:util';
import { CHAOS_DEFAULTS, chaosSeed, formatReport, runChaos, type ChaosOptions } from './lib/chaos.js';
import { CHAOS_STRATEGIES, CHAOS_TARGETS, chaosLaunch, type ChaosStrategy } from './lib/chaos-targets.js';
import { killIfRunning, startBin, type ServerRun } from './lib/spawn.js';

/** The long run's default: the measurement, a minute per strategy. */
const LONG_RUN_SECONDS = 60;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** 128 + SIGINT, as a shell reports a Ctrl-C. */
const EXIT_INTERRUPTED = 130;

const USAGE = `Usage: node packages/testkit/dist/chaos-run.js --strategy NAME[,NAME...] [options]

Loads each server with short and pipelined connections while a random worker
is killed (SIGKILL to a worker process; the fault hook for worker threads),
then checks that no connection waited 5 s without an answer or a close, no
answer was wrong, no connection was refused, none was cut but a dead worker's,
the server is back to full strength and exits 0 on one SIGTERM, leaving no
process. Prints the figures; exits 1 if any rule failed.

  --strategy NAMES    ${CHAOS_STRATEGIES.join(', ')}, or all (comma-separated)
  --seconds S         how long the load runs, per strategy (default ${LONG_RUN_SECONDS})
  --kill-every S|A-B  seconds between two kills: S, or at random from A to B
                      (default ${CHAOS_DEFAULTS.killEvery.join('-')})
  --workers N         --workers of the strategies with a pool (default ${CHAOS_DEFAULTS.workers})
  --seed N            seeds the random choices (default: at random; printed)
  --help              this text`;

class UsageError extends Error {}

interface RunArgs {
  readonly strategies: readonly ChaosStrategy[];
  readonly options: ChaosOptions;
}

function positive(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`${flag} must be a positive number (got ${JSON.stringify(text)})`);
  }
  return value;
}

function parse(argv: readonly string[]): RunArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        strategy: { type: 'string' },
        seconds: { type: 'string' },
        'kill-every': { type: 'string' },
        workers: { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help === true) return 'help';
  if (values.strategy === undefined) throw new UsageError('--strategy is required');
  const names = values.strategy === 'all' ? [...CHAOS_STRATEGIES] : values.strategy.split(',');
  for (const name of names) {
    if (!(CHAOS_STRATEGIES as readonly string[]).includes(name)) {
      throw new UsageError(`unknown strategy ${JSON.stringify(name)}: one of ${CHAOS_STRATEGIES.join(', ')}, or all`);
    }
  }
  const every = (values['kill-every'] ?? CHAOS_DEFAULTS.killEvery.join('-')).split('-');
  const low = positive('--kill-every', every[0]!);
  const high = every.length === 2 ? positive('--kill-every', every[1]!) : low;
  if (every.length > 2 || high < low) throw new UsageError('--kill-every must be S or A-B with A <= B');
  const workers = positive('--workers', values.workers ?? String(CHAOS_DEFAULTS.workers));
  if (!Number.isInteger(workers)) throw new UsageError('--workers must be a whole number');
  const seed = values.seed === undefined ? chaosSeed() : Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError('--seed must be a whole number');
  return {
    strategies: names as ChaosStrategy[],
    options: {
      seconds: positive('--seconds', values.seconds ?? String(LONG_RUN_SECONDS)),
      killEvery: [low, high],
      workers,
      seed,
    },
  };
}

async function main(argv: readonly string[]): Promise<number> {
  let run: RunArgs | 'help';
  try {
    run = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`chaos-run: ${error.message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (run === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let current: ServerRun | undefined;
  process.once('SIGINT', () => {
    void killIfRunning(current).finally(() => process.exit(EXIT_INTERRUPTED));
  });
  let failed = 0;
  for (const strategy of run.strategies) {
    const target = CHAOS_TARGETS[strategy];
    const { args, env } = chaosLaunch(target, run.options.workers);
    current = await startBin(target.pkg, target.bin, args, env);
    try {
      const report = await runChaos(current, target, run.options);
      process.stdout.write(`${formatReport(report)}\n`);
      if (report.checks.some((c) => !c.ok)) failed++;
    } finally {
      await killIfRunning(current);
    }
  }
  if (run.strategies.length > 1) {
    process.stdout.write(`${run.strategies.length - failed} of ${run.strategies.length} strategies passed\n`);
  }
  return failed === 0 ? 0 : EXIT_FAILED;
}

process.exitCode = await main(process.argv.slice(2));
