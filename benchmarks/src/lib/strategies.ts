import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A strategy found in the monorepo: a packages/server-* workspace with a bin. */
export interface StrategyPackage {
  /** Short name: the folder without `server-` (`sequential`, `pool`, ...). */
  name: string;
  packageName: string;
  binName: string;
  /** Absolute path of the bin's script; it may not exist yet (package not built). */
  script: string;
  /** The program that runs `script`; default: the Node running the bench. */
  interpreter?: string;
  /** C and D measure this many times --duration (default 1): see PYTHON_HEAVY_WINDOW in originals.ts. */
  heavyWindowFactor?: number;
  /** A Python original (originals.ts): the short name of the Node strategy that ports it. */
  pairOf?: string;
  /** Flags the server is started with besides `--port 0` (the `+inline` rows). */
  args?: readonly string[];
}

/**
 * The pool strategies run a second time with `--inline-max-n`, as rows such
 * as `pool+inline`: the recommended production setting next to the original's
 * behaviour (every request to a worker). 15 is below each pool strategy's
 * measured crossover (`npm run measure -- dispatch`, docs/benchmarks.md).
 */
const INLINE_ROWS = new Set(['pool', 'process-pool', 'queue']);
export const LAB_INLINE_MAX_N = 15;

/**
 * docs/README.md's order, from one connection at a time to all cores: the
 * table reads top to bottom as the story of the original project. Strategies
 * not listed here (new packages) follow, alphabetically.
 */
const PREFERRED_ORDER = ['sequential', 'async', 'thread', 'pool', 'fork', 'process-pool', 'queue', 'cluster'];

const PREFIX = 'server-';

/** Every `packages/server-*` whose package.json declares a bin, in the table's order. */
export function discoverStrategies(root: string): StrategyPackage[] {
  const packagesDir = join(root, 'packages');
  const found: StrategyPackage[] = [];
  for (const dir of readdirSync(packagesDir, { withFileTypes: true })) {
    if (!dir.isDirectory() || !dir.name.startsWith(PREFIX)) continue;
    const manifestPath = join(packagesDir, dir.name, 'package.json');
    if (!existsSync(manifestPath)) continue;
    let manifest: { name?: unknown; bin?: unknown };
    try {
      manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as typeof manifest;
    } catch {
      continue; // a package.json being written by someone else right now: not a strategy yet
    }
    const bin = firstBin(manifest);
    if (bin === null) continue;
    const strategy: StrategyPackage = {
      name: dir.name.slice(PREFIX.length),
      packageName: typeof manifest.name === 'string' ? manifest.name : dir.name,
      binName: bin.name,
      script: join(packagesDir, dir.name, bin.file),
    };
    found.push(strategy);
    if (INLINE_ROWS.has(strategy.name)) {
      found.push({ ...strategy, name: `${strategy.name}+inline`, args: ['--inline-max-n', String(LAB_INLINE_MAX_N)] });
    }
  }
  return found.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

/** A `+inline` row comes right after its strategy. */
function rank(name: string): number {
  const plain = name.endsWith('+inline') ? name.slice(0, -'+inline'.length) : name;
  const i = PREFERRED_ORDER.indexOf(plain);
  return (i === -1 ? PREFERRED_ORDER.length : i) + (plain === name ? 0 : 0.5);
}

function firstBin(manifest: { name?: unknown; bin?: unknown }): { name: string; file: string } | null {
  const { bin } = manifest;
  if (typeof bin === 'string' && typeof manifest.name === 'string') {
    return { name: manifest.name.split('/').pop()!, file: bin };
  }
  if (bin !== null && typeof bin === 'object') {
    const entry = Object.entries(bin).find(([, file]) => typeof file === 'string');
    if (entry) return { name: entry[0], file: entry[1] as string };
  }
  return null;
}

/**
 * Picks the strategies named on the command line. A name may be the short
 * one, the folder, the package or the bin (`pool`, `server-pool`,
 * `@fib/server-pool`, `fib-server-pool`).
 */
export function selectStrategies(all: StrategyPackage[], names: string[]): StrategyPackage[] {
  if (names.length === 0) return all;
  const unknown = names.filter((name) => !all.some((s) => matches(s, name)));
  if (unknown.length > 0) {
    throw new Error(
      `unknown strateg${unknown.length === 1 ? 'y' : 'ies'} ${unknown.join(', ')} ` +
        `(found: ${all.map((s) => s.name).join(', ') || 'none'})`,
    );
  }
  return all.filter((s) => names.some((name) => matches(s, name)));
}

function matches(strategy: StrategyPackage, name: string): boolean {
  return [strategy.name, PREFIX + strategy.name, strategy.packageName, strategy.binName].includes(name);
}

/**
 * benchmarks/baselines/line-server.mjs as a row of the table: the least a
 * correct fib server does (split lines, naive fib inline, one write per
 * read; no limits, no backpressure). Next to async, it prices the scaffold.
 */
export function lineServerBaseline(root: string): StrategyPackage {
  return {
    name: 'baseline',
    packageName: 'benchmarks/baselines/line-server.mjs',
    binName: 'line-server.mjs',
    script: join(root, 'benchmarks', 'baselines', 'line-server.mjs'),
  };
}
