import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { selectStrategies, type StrategyPackage } from './strategies.js';

/**
 * The Python servers the project ports (benchmarks/baselines/python/), each
 * with the Node strategy that is its port: the table and the chart put the
 * two side by side.
 */
export const ORIGINALS = [
  { name: 'py-sequential', pairOf: 'sequential', file: 'server.py' },
  { name: 'py-asyncio', pairOf: 'async', file: 'server_with_asyncio.py' },
  { name: 'py-thread', pairOf: 'thread', file: 'server_with_thread.py' },
  { name: 'py-pool', pairOf: 'pool', file: 'server_with_processes.py' },
  { name: 'py-fork', pairOf: 'fork', file: 'server_with_multiprocess.py' },
  { name: 'py-process-pool', pairOf: 'process-pool', file: 'server_with_mp_pool.py' },
  { name: 'py-queue', pairOf: 'queue', file: 'server_with_mp_queue.py' },
] as const;

/** The interpreter looked up on PATH. */
export const PYTHON = 'python3';
/** The servers need 3.9 (ProcessPoolExecutor.shutdown's cancel_futures). */
const MIN_PYTHON = [3, 9] as const;
/** Starting an interpreter to ask its version takes tens of milliseconds; 10 s covers a starved machine. */
const VERSION_CHECK_TIMEOUT_MS = 10_000;

/**
 * C and D of a Python row measure this many times --duration. A Python
 * fib(30) takes about 13 times as long as a Node one (125 ms against 9.7 ms on
 * the 2-core dev VM), so a 1.2 s window would hold about nine answers alone
 * and three beside two other fib(30) loops: too few for a median. Three
 * windows hold about thirty and ten, for 7 s more per round. The requests
 * stay the same (fib(30), fib(27)) so that a pair's latencies compare
 * directly; A, B and E count enough answers in the usual window.
 */
export const PYTHON_HEAVY_WINDOW = 3;

export const isOriginal = (strategy: StrategyPackage): boolean => strategy.pairOf !== undefined;

/** The Python originals as rows of the table, run by `python` (a path or a name on PATH). */
export function originalStrategies(root: string, python: string): StrategyPackage[] {
  return ORIGINALS.map((o) => ({
    name: o.name,
    packageName: `benchmarks/baselines/python/${o.file}`,
    binName: o.name,
    script: join(root, 'benchmarks', 'baselines', 'python', o.file),
    interpreter: python,
    heavyWindowFactor: PYTHON_HEAVY_WINDOW,
    pairOf: o.pairOf,
  }));
}

/**
 * The rows of a run, in the table's order, each original just before its
 * Node port. `names` (from --strategies) may name Node strategies and py-*
 * rows; none means every Node strategy. With `withOriginals`, the original of
 * every Node strategy chosen comes too (all of them when none is named); a
 * py-* row named runs in any case.
 * Throws for a name that is neither.
 */
export function selectRows(
  node: StrategyPackage[],
  originals: StrategyPackage[],
  names: string[],
  withOriginals: boolean,
): StrategyPackage[] {
  const named = selectStrategies([...node, ...originals], names);
  const nodeRows = names.length === 0 ? node : named.filter((s) => !isOriginal(s));
  const chosen = new Set<StrategyPackage>(nodeRows);
  for (const original of originals) {
    const asked = names.length > 0 && named.includes(original);
    const paired = names.length === 0 || nodeRows.some((s) => s.name === original.pairOf);
    if (asked || (withOriginals && paired)) chosen.add(original);
  }
  const order: StrategyPackage[] = [];
  for (const strategy of node) {
    order.push(...originals.filter((o) => o.pairOf === strategy.name), strategy);
  }
  // An original whose Node port is not in this tree (not built, or renamed) still has a place: last.
  order.push(...originals.filter((o) => !order.includes(o)));
  return order.filter((s) => chosen.has(s));
}

/**
 * The python3 on `env.PATH` if it can run the originals, else why not. It is
 * looked up here rather than left to spawn, so that a missing interpreter is
 * one clear note instead of seven failed rows.
 */
export function findPython(env: NodeJS.ProcessEnv = process.env): { path: string } | { missing: string } {
  const dirs = (env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  const path = dirs.map((dir) => join(dir, PYTHON)).find(isExecutable);
  if (path === undefined) return { missing: `${PYTHON} not found on PATH` };
  const wanted = MIN_PYTHON.join('.');
  try {
    execFileSync(path, ['-c', `import sys; sys.exit(sys.version_info < (${MIN_PYTHON.join(', ')}))`], {
      env,
      stdio: 'ignore',
      timeout: VERSION_CHECK_TIMEOUT_MS,
    });
  } catch {
    return { missing: `${path} is not a Python ${wanted} or later (or does not run)` };
  }
  return { path };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * vega's tableau20: ten hues, each dark then light. A Node row takes a dark
 * one and its Python original the light one of the same hue, so the chart
 * shows the pairs at a glance.
 */
const PAIRED_PALETTE = [
  '#4c78a8',
  '#9ecae9',
  '#f58518',
  '#ffbf79',
  '#54a24b',
  '#88d27a',
  '#b79a20',
  '#f2cf5b',
  '#439894',
  '#83bcb6',
  '#e45756',
  '#ff9d98',
  '#79706e',
  '#bab0ac',
  '#d67195',
  '#fcbfd2',
  '#b279a2',
  '#d6a5c9',
  '#9e765f',
  '#d8b5a5',
];

/** A color for each row, in order: a hue per Node row, the same hue paler for its original. */
export function pairedColors(rows: readonly { name: string; pairOf?: string }[]): string[] {
  const hue = new Map<string, number>();
  for (const row of rows) if (row.pairOf === undefined) hue.set(row.name, hue.size);
  // An original whose port is not in the chart gets a hue of its own.
  for (const row of rows) if (row.pairOf !== undefined && !hue.has(row.pairOf)) hue.set(row.pairOf, hue.size);
  const pairs = PAIRED_PALETTE.length / 2;
  return rows.map((row) => {
    const h = hue.get(row.pairOf ?? row.name)! % pairs;
    return PAIRED_PALETTE[2 * h + (row.pairOf === undefined ? 0 : 1)]!;
  });
}

/** The shade behind every other pair in the bar panels. */
const PAIR_BAND_COLOR = '#efefef';

/**
 * A layer for a bar panel: a grey band behind the two rows of every other
 * pair (an original and its port), so that each pair reads as one group
 * and neighbouring pairs stand apart. `y` is the panel's strategy encoding.
 */
export function pairBandLayer(rows: readonly { name: string; pairOf?: string }[], y: object, width: number): object {
  const names = new Set(rows.map((r) => r.name));
  const pairs = rows.filter((r) => r.pairOf !== undefined && names.has(r.pairOf));
  const shaded = pairs.filter((_, i) => i % 2 === 0).flatMap((r) => [r.name, r.pairOf!]);
  return {
    data: { values: shaded.map((strategy) => ({ strategy })) },
    mark: { type: 'rect', color: PAIR_BAND_COLOR },
    encoding: { y, x: { value: 0 }, x2: { value: width } },
  };
}
