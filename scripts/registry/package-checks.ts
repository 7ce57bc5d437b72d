// Static checks of one published package, read from the tarball the registry
// serves: its file list, its manifest, and that everything its code imports is
// either inside the tarball or a declared dependency. These are the checks
// that make a missing file, dependency or bin fail the registry test even for
// packages the install scenarios never run.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix, relative } from 'node:path';

/** What a published tarball may hold: built output plus npm's usual trio. */
const ALLOWED_TOP_LEVEL = new Set(['package.json', 'README.md', 'LICENSE']);
const EXPECTED_LICENSE = 'MIT';
/** Dependency ranges a registry install cannot resolve. */
const NON_REGISTRY_RANGE = /^(workspace:|file:|link:|git|github:|https?:|\*$|$)/;

/** The fields of a published manifest these checks read. */
interface PublishedManifest {
  name: string;
  version: string;
  private?: boolean;
  description?: string;
  type?: string;
  exports?: unknown;
  types?: string;
  main?: string;
  files?: string[];
  engines?: { node?: string };
  license?: string;
  repository?: { directory?: string };
  keywords?: string[];
  publishConfig?: { access?: string };
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

export function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((entry): string[] => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path, base) : [relative(base, path).split('\\').join('/')];
  });
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:\\'"`])\/\/.*$/gm, '$1');
}

/** Module specifiers a built file refers to, comments excluded. */
export function specifiers(text: string): string[] {
  const code = stripComments(text);
  const found = new Set<string>();
  const patterns = [
    /\b(?:import|export)\s[^'";]*?\bfrom\s*(['"])([^'"\n]+)\1/g, // import x from 'y', export * from 'y'
    /\bimport\s*(['"])([^'"\n]+)\1/g, // import 'side-effect'
    /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g, // import('y'), also in .d.ts type positions
    /\brequire\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g,
    /\bnew\s+URL\s*\(\s*(['"])([^'"\n]+)\1\s*,\s*import\.meta\.url/g, // worker and child entry files
  ];
  for (const pattern of patterns) for (const match of code.matchAll(pattern)) found.add(match[2]!);
  return [...found];
}

function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const BUILTINS = new Set(builtinModules);
function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0]!);
}

/**
 * The bins docs/README.md lists for each package, derived from the package
 * name so that a new strategy package is held to it without editing this file.
 */
function expectedBins(name: string): string[] {
  if (name === '@fib/perf') return ['fib-perf1', 'fib-perf2'];
  const strategy = /^@fib\/server-(.+)$/.exec(name);
  return strategy ? [`fib-server-${strategy[1]}`] : [];
}

function exportTargets(exportsField: unknown, out: string[] = []): string[] {
  if (typeof exportsField === 'string') out.push(exportsField);
  else if (exportsField && typeof exportsField === 'object') {
    for (const value of Object.values(exportsField)) exportTargets(value, out);
  }
  return out;
}

function conditionObjects(exportsField: unknown, out: string[][] = []): string[][] {
  if (exportsField && typeof exportsField === 'object' && !Array.isArray(exportsField)) {
    const keys = Object.keys(exportsField);
    if (keys.length && !keys[0]!.startsWith('.')) out.push(keys);
    for (const value of Object.values(exportsField)) conditionObjects(value, out);
  }
  return out;
}

export interface PackageCheck {
  manifest: PublishedManifest;
  files: string[];
  failures: string[];
  notes: string[];
  /** Its bins, by name, as paths inside the package. */
  bins: Record<string, string>;
}

/**
 * Checks the extracted tarball in `dir` (the `package/` folder) of the
 * workspace at `rel`. `published` holds the name of every publishable @fib
 * package; `nodeEngine` is the root manifest's `engines.node`, which every
 * package must declare too. Returns failures and notes.
 */
export function checkPackage({
  dir,
  rel,
  published,
  nodeEngine,
}: {
  dir: string;
  rel: string;
  published: { has(name: string): boolean };
  nodeEngine: string;
}): PackageCheck {
  const failures: string[] = [];
  const notes: string[] = [];
  const fail = (message: string) => failures.push(message);
  const files = listFiles(dir);
  const has = new Set(files);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PublishedManifest;

  // The file list: dist plus package.json, README.md, LICENSE, nothing else.
  for (const file of files) {
    if (file.startsWith('dist/')) {
      if (file.endsWith('.map') || file.endsWith('.tsbuildinfo'))
        fail(`ships ${file} (source maps and build info stay out)`);
    } else if (!ALLOWED_TOP_LEVEL.has(file))
      fail(`ships ${file}, outside dist/ (only dist, README.md, LICENSE and package.json belong)`);
  }
  if (!has.has('LICENSE')) fail('LICENSE missing from the tarball');
  if (!has.has('README.md')) fail('README.md missing from the tarball');

  // The manifest: complete for publishing.
  const need = (ok: unknown, message: string) => ok || fail(`package.json: ${message}`);
  need(!manifest.private, 'is private but was published');
  need(typeof manifest.description === 'string' && manifest.description.length > 0, 'no description');
  need(manifest.type === 'module', `type is ${JSON.stringify(manifest.type)}, not "module"`);
  need(manifest.exports && typeof manifest.exports === 'object', 'no exports map');
  for (const keys of conditionObjects(manifest.exports)) {
    need(keys[0] === 'types', `exports condition order ${JSON.stringify(keys)}: "types" must come first`);
  }
  need(typeof manifest.types === 'string', 'no types');
  need(Array.isArray(manifest.files) && manifest.files.length > 0, 'no files list');
  need(
    manifest.engines?.node === nodeEngine,
    `engines.node is ${JSON.stringify(manifest.engines?.node)}, not the root's "${nodeEngine}"`,
  );
  need(manifest.license === EXPECTED_LICENSE, `license is ${JSON.stringify(manifest.license)}`);
  need(
    manifest.repository?.directory === rel,
    `repository.directory is ${JSON.stringify(manifest.repository?.directory)}, not "${rel}"`,
  );
  need(Array.isArray(manifest.keywords) && manifest.keywords.length > 0, 'no keywords');
  // A scoped package is published restricted unless told otherwise, and the
  // public registry then refuses it (402); Verdaccio would not notice.
  need(
    !manifest.name.startsWith('@') || manifest.publishConfig?.access === 'public',
    'publishConfig.access is not "public"',
  );

  // Every entry point named in the manifest is in the tarball.
  const target = (path: string) => posix.normalize(path.replace(/^\.\//, ''));
  for (const path of [...exportTargets(manifest.exports), manifest.types, manifest.main]) {
    if (path === undefined) continue;
    if (!path.includes('*') && !has.has(target(path)))
      fail(`package.json points at ${path}, which is not in the tarball`);
  }
  const bins: Record<string, string> =
    typeof manifest.bin === 'string' ? { [manifest.name.split('/').pop()!]: manifest.bin } : (manifest.bin ?? {});
  for (const name of expectedBins(manifest.name)) {
    if (!(name in bins)) fail(`package.json has no bin ${name}`);
  }
  for (const [name, path] of Object.entries(bins)) {
    if (!has.has(target(path))) fail(`bin ${name} -> ${path} is not in the tarball`);
    else if (!readFileSync(join(dir, target(path)), 'utf8').startsWith('#!/usr/bin/env node\n')) {
      fail(`bin ${name} (${path}) does not start with "#!/usr/bin/env node"`);
    }
  }

  // Dependencies: registry ranges only, on packages that are published too.
  const declared: Record<string, string> = {
    ...manifest.peerDependencies,
    ...manifest.optionalDependencies,
    ...manifest.dependencies,
  };
  for (const [name, spec] of Object.entries(declared)) {
    if (NON_REGISTRY_RANGE.test(spec))
      fail(`depends on ${name}@${JSON.stringify(spec)}, which a registry install cannot resolve`);
    if (name.startsWith('@fib/') && !published.has(name))
      fail(`depends on ${name}, which is not published (private or missing)`);
  }

  // Everything the built code imports: in the tarball, a builtin, or declared.
  const used = new Set<string>();
  for (const file of files.filter((f) => /\.(m?js|d\.ts)$/.test(f))) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const spec of specifiers(text)) {
      if (spec.startsWith('./') || spec.startsWith('../')) {
        const resolved = posix.join(posix.dirname(file), spec);
        const candidates = file.endsWith('.d.ts') ? [resolved, resolved.replace(/\.js$/, '.d.ts')] : [resolved];
        if (!candidates.some((c) => has.has(c))) fail(`${file} refers to ${spec}, which is not in the tarball`);
      } else if (!isBuiltin(spec)) {
        const name = packageNameOf(spec);
        used.add(name);
        if (name !== manifest.name && !(name in declared))
          fail(`${file} imports ${spec}, but ${name} is not in dependencies`);
      }
    }
  }
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    if (!used.has(name)) notes.push(`declares ${name} but its built code never imports it`);
  }
  return { manifest, files, failures, notes, bins };
}
