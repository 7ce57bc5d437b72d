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
const NODE_ENGINE = '>=20';
const EXPECTED_LICENSE = 'MIT';
const NON_REGISTRY_SPEC = /^(workspace:|file:|link:|git|github:|https?:|\*$|$)/;

export function listFiles(dir, base = dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path, base) : [relative(base, path).split('\\').join('/')];
  });
}

/**
 * True when a built entry has no code at all: what esbuild makes of a
 * placeholder `export {};` (a shebang and a source-map comment). Used to tell
 * "not implemented yet" apart from "broken".
 */
export function isEmptyModule(text) {
  return (
    stripComments(text.replace(/^#!.*\n/, ''))
      .replace(/export\s*\{\s*\}\s*;?/g, '')
      .trim() === ''
  );
}

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:\\'"`])\/\/.*$/gm, '$1');
}

/** Module specifiers a built file refers to, comments excluded. */
export function specifiers(text) {
  const code = stripComments(text);
  const found = new Set();
  const patterns = [
    /\b(?:import|export)\s[^'";]*?\bfrom\s*(['"])([^'"\n]+)\1/g, // import x from 'y', export * from 'y'
    /\bimport\s*(['"])([^'"\n]+)\1/g, // import 'side-effect'
    /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g, // import('y'), also in .d.ts type positions
    /\brequire\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g,
    /\bnew\s+URL\s*\(\s*(['"])([^'"\n]+)\1\s*,\s*import\.meta\.url/g, // worker and child entry files
  ];
  for (const pattern of patterns) for (const match of code.matchAll(pattern)) found.add(match[2]);
  return [...found];
}

function packageNameOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const BUILTINS = new Set(builtinModules);
function isBuiltin(specifier) {
  return specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0]);
}

/**
 * The bins SPEC §2 promises, derived from the package name so that a new
 * strategy package is held to it without editing this file.
 */
function expectedBins(name) {
  if (name === '@fib/perf') return ['fib-perf1', 'fib-perf2'];
  const strategy = /^@fib\/server-(.+)$/.exec(name);
  return strategy ? [`fib-server-${strategy[1]}`] : [];
}

function exportTargets(exportsField, out = []) {
  if (typeof exportsField === 'string') out.push(exportsField);
  else if (exportsField && typeof exportsField === 'object') {
    for (const value of Object.values(exportsField)) exportTargets(value, out);
  }
  return out;
}

function conditionObjects(exportsField, out = []) {
  if (exportsField && typeof exportsField === 'object' && !Array.isArray(exportsField)) {
    const keys = Object.keys(exportsField);
    if (keys.length && !keys[0].startsWith('.')) out.push(keys);
    for (const value of Object.values(exportsField)) conditionObjects(value, out);
  }
  return out;
}

/**
 * Checks the extracted tarball in `dir` (the `package/` folder) of the
 * workspace at `rel`. `published` maps every publishable @fib name to its
 * version. Returns failures, pendings (README not written yet), notes, and
 * the package's entries with whether each is still an empty placeholder.
 */
export function checkPackage({ dir, rel, published }) {
  const failures = [];
  const pendings = [];
  const notes = [];
  const fail = (message) => failures.push(message);
  const files = listFiles(dir);
  const has = new Set(files);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

  // The file list: dist plus package.json, README.md, LICENSE, nothing else.
  for (const file of files) {
    if (file.startsWith('dist/')) {
      if (file.endsWith('.map') || file.endsWith('.tsbuildinfo'))
        fail(`ships ${file} (source maps and build info stay out)`);
    } else if (!ALLOWED_TOP_LEVEL.has(file))
      fail(`ships ${file}, outside dist/ (only dist, README.md, LICENSE and package.json belong)`);
  }
  if (!has.has('LICENSE')) fail('LICENSE missing from the tarball');
  if (!has.has('README.md')) pendings.push('README.md missing from the tarball');

  // The manifest: complete for publishing.
  const need = (ok, message) => ok || fail(`package.json: ${message}`);
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
    manifest.engines?.node === NODE_ENGINE,
    `engines.node is ${JSON.stringify(manifest.engines?.node)}, not "${NODE_ENGINE}"`,
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
  const target = (path) => posix.normalize(path.replace(/^\.\//, ''));
  for (const path of [...exportTargets(manifest.exports), manifest.types, manifest.main].filter(Boolean)) {
    if (!path.includes('*') && !has.has(target(path)))
      fail(`package.json points at ${path}, which is not in the tarball`);
  }
  const bins =
    typeof manifest.bin === 'string' ? { [manifest.name.split('/').pop()]: manifest.bin } : (manifest.bin ?? {});
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
  const declared = { ...manifest.peerDependencies, ...manifest.optionalDependencies, ...manifest.dependencies };
  for (const [name, spec] of Object.entries(declared)) {
    if (NON_REGISTRY_SPEC.test(spec))
      fail(`depends on ${name}@${JSON.stringify(spec)}, which a registry install cannot resolve`);
    if (name.startsWith('@fib/') && !published.has(name))
      fail(`depends on ${name}, which is not published (private or missing)`);
  }

  // Everything the built code imports: in the tarball, a builtin, or declared.
  const used = new Set();
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
  // Placeholders: the main entry and every bin, flagged when still empty.
  const mainEntry = exportTargets(manifest.exports?.['.']?.default ?? manifest.exports?.['.'])[0];
  const empty = (path) => has.has(target(path)) && isEmptyModule(readFileSync(join(dir, target(path)), 'utf8'));
  const entries = {
    main: mainEntry ? { path: mainEntry, empty: empty(mainEntry) } : undefined,
    bins: Object.fromEntries(Object.entries(bins).map(([name, path]) => [name, { path, empty: empty(path) }])),
  };
  if (!entries.main?.empty) {
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      if (!used.has(name)) notes.push(`declares ${name} but its built code never imports it`);
    }
  }
  return { manifest, files, failures, pendings, notes, entries };
}
