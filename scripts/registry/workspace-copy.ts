// A throwaway copy of the monorepo to publish from. `lerna publish` writes a
// gitHead into every package.json and then `git checkout`s them back: in a
// working tree that others are editing, that would discard their uncommitted
// changes. The copy holds exactly what a fresh clone of the working tree would
// (tracked and untracked files, nothing ignored: no dist, no node_modules),
// committed in a repository of its own, so lerna sees a clean tree.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';

function git(cwd: string, args: readonly string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Names and folders of the workspaces declared in `root`/package.json (simple `dir/*` globs only). */
export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  [field: string]: unknown;
}

export interface Workspace {
  dir: string;
  /** Its folder relative to the root, e.g. `packages/core`. */
  rel: string;
  manifest: Manifest;
}

export function workspaces(root: string): Workspace[] {
  const { workspaces: patterns = [] } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    workspaces?: string[];
  };
  const dirs = new Set<string>();
  for (const pattern of patterns) {
    if (pattern.endsWith('/*')) {
      const parent = join(root, pattern.slice(0, -2));
      if (!existsSync(parent)) continue;
      for (const name of readdirSync(parent).sort()) dirs.add(join(parent, name));
    } else dirs.add(join(root, pattern));
  }
  return [...dirs]
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({
      dir,
      rel: relative(root, dir),
      manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest,
    }));
}

/**
 * Copies the working tree of `root` (or, given `ref`, that commit) into
 * `dest` and links its tooling: every node_modules entry points at the
 * monorepo's, except the workspace packages, which point at the copy's own
 * folders (as `npm ci` would have linked them).
 */
export function copyWorkspace(
  root: string,
  dest: string,
  { ref }: { ref?: string | undefined } = {},
): { files: number } {
  let copied = 0;
  mkdirSync(dest, { recursive: true });
  if (ref) {
    // A commit, not the working tree: others' half-done edits stay out.
    execFileSync('sh', ['-c', 'git archive --format=tar "$1" | tar -x -C "$2"', 'sh', ref, dest], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    copied = git(root, ['ls-tree', '-r', '--name-only', ref]).split('\n').filter(Boolean).length;
  } else {
    const files = git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])
      .split('\0')
      .filter(Boolean);
    for (const file of files) {
      const from = join(root, file);
      if (!existsSync(from) || !lstatSync(from).isFile()) continue; // deleted, or a submodule/symlink
      mkdirSync(dirname(join(dest, file)), { recursive: true });
      copyFileSync(from, join(dest, file));
      copied++;
    }
  }

  const ownPackages = new Map(workspaces(dest).map((ws) => [ws.manifest.name, ws.dir]));
  const rootModules = join(root, 'node_modules');
  const destModules = join(dest, 'node_modules');
  mkdirSync(destModules);
  const link = (target: string, path: string) => {
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(target, path);
  };
  for (const entry of readdirSync(rootModules)) {
    if (entry === '.cache' || entry === '.package-lock.json') continue;
    if (entry === '.bin') {
      // Same relative link text: it resolves through the copy's node_modules,
      // so workspace bins point at the copy and tool bins at the monorepo.
      for (const bin of readdirSync(join(rootModules, '.bin'))) {
        link(readlinkSync(join(rootModules, '.bin', bin)), join(destModules, '.bin', bin));
      }
    } else if (entry.startsWith('@')) {
      for (const scoped of readdirSync(join(rootModules, entry))) {
        const name = `${entry}/${scoped}`;
        if (!ownPackages.has(name)) link(join(rootModules, name), join(destModules, name));
      }
    } else if (!ownPackages.has(entry)) link(join(rootModules, entry), join(destModules, entry));
  }
  for (const [name, dir] of ownPackages) link(relative(dirname(join(destModules, name)), dir), join(destModules, name));
  // A workspace whose dependency conflicts with a hoisted one (core's pino
  // against Verdaccio's) has it in a node_modules of its own: link that too.
  for (const ws of workspaces(dest)) {
    const own = join(root, ws.rel, 'node_modules');
    if (existsSync(own)) link(own, join(ws.dir, 'node_modules'));
  }

  const identity = [
    '-c',
    'user.name=registry-test',
    '-c',
    'user.email=registry-test@localhost',
    '-c',
    'commit.gpgsign=false',
  ];
  git(dest, ['init', '-q']);
  git(dest, ['add', '-A']);
  git(dest, [...identity, 'commit', '-q', '--no-verify', '-m', 'registry test snapshot']);
  return { files: copied };
}
