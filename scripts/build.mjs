#!/usr/bin/env node
// Builds every workspace: esbuild writes the JavaScript each package ships,
// tsc -b (project references) writes the type declarations beside it.
//
// Entry convention: every top-level file of a package's src/ (index.ts, bin.ts,
// worker.ts, ...) becomes dist/<name>.js; modules in subfolders are bundled into
// the entries that import them. Other packages (@fib/* included) stay external,
// so each published package carries only its own code.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const workspaces = ['packages', 'benchmarks']
  .flatMap((dir) =>
    dir === 'packages' ? readdirSync(join(root, dir)).map((name) => join(root, dir, name)) : [join(root, dir)],
  )
  .filter((dir) => existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src')));

const started = Date.now();
// dist/ is rebuilt in place, never emptied first: a server or benchmark
// running from it while someone rebuilds keeps finding its files. JavaScript
// this build did not write (chunks of an older build) is removed afterwards.
await Promise.all(
  workspaces.map(async (dir) => {
    const entryPoints = readdirSync(join(dir, 'src'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => join(dir, 'src', f));
    if (entryPoints.length === 0) return;
    const { metafile } = await build({
      // Output paths in the metafile are relative to this folder.
      absWorkingDir: root,
      metafile: true,
      entryPoints,
      outdir: join(dir, 'dist'),
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'linked',
      chunkNames: 'chunk-[hash]',
      logLevel: 'warning',
    });
    const written = new Set(Object.keys(metafile.outputs).map((file) => join(root, file)));
    for (const file of readdirSync(join(dir, 'dist'), { recursive: true })) {
      const path = join(dir, 'dist', String(file));
      if (/\.js(\.map)?$/.test(path) && !written.has(path)) rmSync(path);
    }
  }),
);

const tsc = require.resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.json')], { stdio: 'inherit' });

// On a fresh `npm ci`, npm links workspace bins before `prepare` has built
// them, and skips the ones whose file does not exist yet: link those here, as
// npm would, and set the executable bit that npm could not.
const binDir = join(root, 'node_modules', '.bin');
for (const dir of workspaces) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const bins = typeof pkg.bin === 'string' ? { [pkg.name.split('/').pop()]: pkg.bin } : (pkg.bin ?? {});
  for (const [name, file] of Object.entries(bins)) {
    chmodSync(join(dir, file), 0o755);
    const link = join(binDir, name);
    if (existsSync(binDir) && !lstatExists(link)) {
      symlinkSync(relative(binDir, join(root, 'node_modules', pkg.name, file)), link);
    }
  }
}

// Every published tarball carries the license: npm always packs a package's
// own LICENSE, so copy the root one next to each package.json (gitignored
// there). Private workspaces are never published and get none.
for (const dir of workspaces) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (!pkg.private) copyFileSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
}

/** @param {string} path */
function lstatExists(path) {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
console.log(`built ${workspaces.length} workspaces in ${((Date.now() - started) / 1000).toFixed(1)}s`);
