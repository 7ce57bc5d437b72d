#!/usr/bin/env node
// npm run bench: every strategy, the classic demonstrations, a
// table, a chart and a CI gate. See USAGE in lib/options.ts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureCeiling } from './lib/ceiling.js';
import { chartSpec, renderSvg } from './lib/chart.js';
import { compareEntries, formatComparison, parseEntries } from './lib/compare.js';
import { benchmarkEntries } from './lib/entries.js';
import { parseBenchArgs, UsageError, USAGE, type BenchOptions } from './lib/options.js';
import type { RunMeta, StrategyOutcome } from './lib/outcome.js';
import { Progress } from './lib/progress.js';
import { runStrategy } from './lib/run.js';
import { SCALING_N } from './lib/scenarios.js';
import { killStartedServers } from './lib/server.js';
import { findPython, isOriginal, originalStrategies, PYTHON, selectRows } from './lib/originals.js';
import { discoverStrategies, lineServerBaseline } from './lib/strategies.js';
import { metaLine, resultsMarkdown } from './lib/table.js';
import { timelineSpec } from './lib/timeline.js';

const EXIT_REGRESSED = 1;
const EXIT_USAGE = 2;
const EXIT_STRATEGY_FAILED = 3;
/** 128 + SIGINT, as a shell reports a Ctrl-C. */
const EXIT_INTERRUPTED = 130;

/** The monorepo root: this file runs from benchmarks/dist/. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function main(argv: readonly string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (options.version) {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'benchmarks', 'package.json'), 'utf8')) as { version: string };
    process.stdout.write(`${manifest.version}\n`);
    return 0;
  }
  // Read the baseline before spending minutes on a run it could not be compared with.
  let baselineText: string | null = null;
  try {
    if (options.compare !== null) {
      baselineText = readFileSync(options.compare, 'utf8');
      parseEntries(baselineText, options.compare);
      if (options.results !== null) {
        return gate(
          options.compare,
          readFileSync(options.results, 'utf8'),
          options.results,
          options.threshold,
          baselineText,
        );
      }
    }
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }

  const all = discoverStrategies(ROOT);
  let strategies;
  try {
    strategies = selectRows(all, originalStrategies(ROOT, PYTHON), options.strategies, options.originals);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  const runNotes: string[] = [];
  const originals = strategies.filter(isOriginal);
  if (originals.length > 0) {
    const python = findPython();
    if ('missing' in python) {
      const note = `${python.missing}: the Python originals were skipped (${originals.map((s) => s.name).join(', ')})`;
      process.stderr.write(`bench: ${note}\n`);
      runNotes.push(note);
      strategies = strategies.filter((s) => !isOriginal(s));
    } else {
      strategies = strategies.map((s) => (isOriginal(s) ? { ...s, interpreter: python.path } : s));
    }
  }
  if (options.baseline) strategies = [lineServerBaseline(ROOT), ...strategies];
  if (strategies.length === 0) {
    process.stderr.write(
      runNotes.length > 0 ? 'bench: nothing left to run\n' : `bench: no packages/server-* with a bin under ${ROOT}\n`,
    );
    return EXIT_USAGE;
  }

  const interrupt = new AbortController();
  const onSigint = () => {
    if (interrupt.signal.aborted) {
      killStartedServers();
      process.exit(EXIT_INTERRUPTED);
    }
    process.stderr.write('\nbench: interrupted, stopping the server (Ctrl-C again to kill it)\n');
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  const meta: RunMeta = {
    date: new Date().toISOString(),
    node: process.versions.node,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    duration: options.duration,
    rounds: options.rounds,
    warmup: options.warmup,
    startupWarmup: options.startupWarmup,
    quick: options.quick,
    scenarios: options.scenarios,
    loadAverage: { start: loadAverage(), end: null },
    ceiling: null,
    notes: runNotes,
  };
  const progress = new Progress();
  progress.plain(`bench: ${strategies.map((s) => s.name).join(', ')}; ${metaLine(meta)}`);
  const started = performance.now();
  if (options.scenarios.includes('E')) {
    // Before any server runs: the reference line of panel E is the machine alone.
    meta.ceiling = await measureCeiling(options.quick ? QUICK_CEILING_S : FULL_CEILING_S, options.rounds);
    const c = meta.ceiling;
    progress.plain(
      `bench: machine ceiling: fib(${SCALING_N})/s ${c.one} with one node process, ${c.two} with two (x${c.ratio})`,
    );
  }
  const outcomes: StrategyOutcome[] = [];
  for (const [i, strategy] of strategies.entries()) {
    if (interrupt.signal.aborted) break;
    progress.strategy(i, strategies.length, strategy.name);
    outcomes.push(await runStrategy(strategy, options, interrupt.signal, progress));
  }
  if (interrupt.signal.aborted) return EXIT_INTERRUPTED;
  meta.loadAverage.end = loadAverage();
  progress.plain(`bench: done in ${((performance.now() - started) / 1000).toFixed(0)} s`);

  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const entries = benchmarkEntries(outcomes, options.scenarios);
  const markdown = resultsMarkdown(outcomes, meta);
  writeFileSync(join(out, 'results.json'), `${JSON.stringify(entries, null, 2)}\n`);
  writeFileSync(join(out, 'results.md'), markdown);
  writeFileSync(join(out, 'chart.svg'), await renderSvg(chartSpec(outcomes, meta)));
  const timelines = outcomes.flatMap((o) => (o.timeline ? [{ name: o.name, timeline: o.timeline }] : []));
  if (timelines.length > 0)
    writeFileSync(join(out, 'timeline.svg'), await renderSvg(timelineSpec(timelines, metaSubtitle(meta))));
  writeFileSync(join(out, 'raw.json'), `${JSON.stringify({ meta, outcomes }, null, 2)}\n`);
  process.stdout.write(`\n${markdown}\n`);
  progress.plain(
    `bench: wrote results.json, results.md, chart.svg, ${timelines.length > 0 ? 'timeline.svg, ' : ''}and raw.json to ${out}`,
  );

  let code = outcomes.some((o) => o.status === 'failed') ? EXIT_STRATEGY_FAILED : 0;
  if (baselineText !== null) {
    const gateCode = gate(
      options.compare!,
      JSON.stringify(entries),
      join(out, 'results.json'),
      options.threshold,
      baselineText,
    );
    if (gateCode !== 0) code = gateCode;
  }
  return code;
}

/** Seconds each process of the ceiling measurement computes: fib(27) takes about 2 ms, so hundreds of answers. */
const FULL_CEILING_S = 1;
const QUICK_CEILING_S = 0.5;

function metaSubtitle(meta: RunMeta): string {
  return `${meta.date.slice(0, 10)}, Node ${meta.node}, ${meta.cpus} CPUs, load average ${meta.loadAverage.start}${meta.quick ? ' (quick)' : ''}`;
}

function loadAverage(): number {
  return Math.round(os.loadavg()[0]! * 100) / 100;
}

/** Prints the comparison of a results.json with a baseline; EXIT_REGRESSED when a ratio lost more than the threshold. */
function gate(
  baselinePath: string,
  currentText: string,
  currentPath: string,
  threshold: number,
  baselineText: string,
): number {
  const comparison = compareEntries(
    parseEntries(baselineText, baselinePath),
    parseEntries(currentText, currentPath),
    threshold,
  );
  process.stdout.write(`${formatComparison(comparison, baselinePath)}\n`);
  if (comparison.compared === 0) {
    process.stderr.write(`bench: ${baselinePath} and ${currentPath} have no ratio in common\n`);
    return EXIT_REGRESSED;
  }
  return comparison.regressions.length > 0 ? EXIT_REGRESSED : 0;
}

// Whatever ends this process, no server it started survives it.
process.on('exit', killStartedServers);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(70);
  },
);
