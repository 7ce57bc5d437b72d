// The registry test: proves that every package installs and runs from a real
// npm registry, as a user would get it.
//
//  1. snapshot the working tree into a temp folder (lerna publish edits and
//     resets package.json files: never in the shared tree);
//  2. start Verdaccio on a free loopback port, with throwaway storage, the
//     @fib scope accepted for publishing and never proxied;
//  3. `npm run release -- from-package` (lerna) publishes every non-private
//     workspace to it, nowhere else;
//  4. check what the registry serves: private workspaces absent; file lists,
//     manifests, imports against dependencies, bins; publint and
//     @arethetypeswrong/cli on every tarball; install every package
//     together, import each, run each bin's --version and --help, type-check
//     a consumer;
//  5. the user's scenarios, each in a new empty folder:
//     `npx @fib/server-cluster --port 0` answers `30` with `832040`;
//     `npm install @fib/server-pool` then a script that `import { start }`
//     serves; `npx -p @fib/perf fib-perf2 --duration 1` measures it;
//  6. time --version and time-to-listening of the installed server bin.
//
// Verdaccio and every server are stopped, and the temp folder removed,
// whatever the outcome (reaper.cjs covers even a SIGKILL of this process).
// Exit code 0 when everything passed, 1 otherwise. It runs on whatever node
// is first on PATH (npm, npx and the bins included): .ci/node-lines runs it
// on every supported Node line.
//
// usage: node --import tsx scripts/registry-test.ts [--ref=<commit>]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLineClient } from './registry/line-client.js';
import { checkPackage, type PackageCheck } from './registry/package-checks.js';
import {
  cleanEnv,
  describeExit,
  killAllSync,
  run,
  spawnGuarded,
  stopAll,
  tail,
  type ExitReport,
  type GuardedProcess,
} from './registry/procs.js';
import { timeListening, timeVersion } from './registry/startup-timing.js';
import { startVerdaccio, type Verdaccio } from './registry/verdaccio.js';
import { copyWorkspace, workspaces, type Workspace } from './registry/workspace-copy.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** --ref=<commit>: publish that commit instead of the working tree (others' edits in progress stay out). */
const REF = process.argv.find((arg) => arg.startsWith('--ref='))?.slice('--ref='.length);
for (const arg of process.argv.slice(2)) {
  if (!arg.startsWith('--ref=')) {
    console.error(
      `registry test: unknown argument ${arg}\nusage: node --import tsx scripts/registry-test.ts [--ref=<commit>]`,
    );
    process.exit(2);
  }
}
/** Every package declares the root's Node lines (docs/README.md, "Node.js lines"). */
const NODE_ENGINE = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } })
  .engines.node;

/** The whole test must end well within CI's 4 minutes, whatever hangs. */
const TOTAL_BUDGET_MS = 225_000;
/** Build (esbuild + tsc -b) and publish of a dozen packages: ~15 s here. */
const PUBLISH_TIMEOUT_MS = 120_000;
/** npm install through Verdaccio, which proxies third-party packages upstream. */
const INSTALL_TIMEOUT_MS = 90_000;
/** npx installs before it runs, so its first line can take as long as an install. */
const NPX_READY_TIMEOUT_MS = 90_000;
const ANSWER_TIMEOUT_MS = 15_000;
/** A graceful stop waits for in-flight work; the servers' default is 10 s. */
const STOP_TIMEOUT_MS = 20_000;
const QUICK_COMMAND_TIMEOUT_MS = 20_000;
/** publint and attw each start a Node and read one tarball: a few seconds, more on a loaded machine. */
const LINT_TIMEOUT_MS = 60_000;
/** Packages linted at once: each linter is single-threaded and mostly waits on its own start-up. */
const LINT_CONCURRENCY = 4;
/** fib(30), the original project's slow request. */
const HEADLINE = { n: '30', answer: '832040' };
/** Timing runs: enough for a stable median, few enough for the budget. */
const VERSION_RUNS = 15;
const LISTEN_RUNS = 7;
/** Generous ceilings that only a pathological startup would cross, even on a loaded CI box. */
const MAX_VERSION_MEDIAN_MS = 1_500;
const MAX_LISTEN_MEDIAN_MS = 3_000;

const started = performance.now();
const tmp = mkdtempSync(join(tmpdir(), 'fib-registry-'));
const results = { passed: 0, failed: [] as string[] };

let cleaned = false;
function cleanupSync() {
  if (cleaned) return;
  cleaned = true;
  killAllSync();
  rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
}
process.on('exit', cleanupSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.error(`registry test: ${signal}, stopping everything`);
    cleanupSync();
    process.exit(130);
  });
}
const watchdog = setTimeout(() => {
  fail(`over the ${TOTAL_BUDGET_MS / 1000} s budget: stopped`);
  summary();
  cleanupSync();
  process.exit(1);
}, TOTAL_BUDGET_MS);

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
function pass(message: string) {
  results.passed++;
  console.log(`ok       ${message}`);
}
function fail(message: string) {
  results.failed.push(message);
  console.log(`FAIL     ${message}`);
}
function note(message: string) {
  console.log(`         ${message}`);
}
function summary(): number {
  const total = seconds(performance.now() - started);
  if (results.failed.length) {
    console.log(`\n${results.failed.length} failed:`);
    for (const message of results.failed) console.log(`  - ${message.split('\n')[0]}`);
  }
  console.log(
    `\nregistry test on Node ${process.version}: ${results.passed} passed, ${results.failed.length} failed (${total})`,
  );
  return results.failed.length;
}

/** Runs a step; a failed critical step ends the test (what follows needs it). */
class Abort extends Error {}
async function step(name: string, fn: () => Promise<unknown>, { critical = false } = {}): Promise<void> {
  const t0 = performance.now();
  try {
    const detail = await fn();
    pass(`${name}${detail ? `: ${String(detail)}` : ''} (${seconds(performance.now() - t0)})`);
  } catch (error) {
    fail(`${name}: ${(error as Error).message}`);
    if (critical) throw new Abort(name);
  }
}

function folder(name: string, manifest?: object): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  if (manifest) writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}
const CONSUMER = { name: 'registry-test-consumer', version: '0.0.0', private: true, type: 'module' };

/** A dev tool's CLI from the monorepo's node_modules, run with this test's node. */
function toolBin(name: string): string {
  const link = join(root, 'node_modules', '.bin', name);
  return realpathSync(link);
}

async function askHeadline(host: string, port: number, { terminator }: { terminator: string }): Promise<void> {
  const client = await openLineClient({ host, port, timeoutMs: ANSWER_TIMEOUT_MS });
  try {
    const answer = await client.request(`${HEADLINE.n}${terminator}`);
    if (answer !== HEADLINE.answer)
      throw new Error(`asked ${JSON.stringify(HEADLINE.n + terminator)}, got ${JSON.stringify(answer)}`);
    // The original client keeps its connection: a second request must work too.
    const again = await client.request(`${HEADLINE.n}${terminator}`);
    if (again !== HEADLINE.answer) throw new Error(`second request on the connection got ${JSON.stringify(again)}`);
  } finally {
    client.close();
  }
}

/**
 * Stops a server gracefully and checks that its whole process group ends
 * (no worker left behind) and, unless `anyExit`, that it exits 0.
 * Start `proc` with `graceMs: STOP_TIMEOUT_MS`.
 */
async function stopServer(
  proc: GuardedProcess,
  signal: NodeJS.Signals,
  { group = false, anyExit = false } = {},
): Promise<ExitReport> {
  proc.signal(signal, { group });
  // The leader's own shutdown, then the reaper's grace for the rest of its group.
  const limitMs = 2 * STOP_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    proc.exited,
    new Promise<null>((resolve) => {
      timer = setTimeout(resolve, limitMs, null);
    }),
  ]);
  clearTimeout(timer);
  if (!exit) throw new Error(`${proc.label} still running ${limitMs / 1000} s after ${signal}${tail(proc)}`);
  if (exit.leftovers)
    throw new Error(
      `${proc.label}: processes of its group still running ${STOP_TIMEOUT_MS / 1000} s after it exited${tail(proc)}`,
    );
  if (!anyExit && exit.code !== 0) throw new Error(`${proc.label} ${describeExit(exit)} after ${signal}${tail(proc)}`);
  return exit;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface Published {
  version: string;
  rel: string;
  /** The tarball the registry served, and what the checks found in it. */
  tarball?: string;
  check?: PackageCheck;
}

async function main(): Promise<void> {
  const repo = join(tmp, 'repo');
  let publishable: Workspace[] = [];
  const published = new Map<string, Published>();
  let registry!: Verdaccio;
  let env: NodeJS.ProcessEnv = {};

  await step(
    'snapshot the working tree',
    async () => {
      const { files } = copyWorkspace(root, repo, { ref: REF });
      publishable = workspaces(repo).filter((ws) => !ws.manifest.private);
      if (!publishable.some((ws) => ws.rel.startsWith('packages/')))
        throw new Error('no publishable package under packages/');
      return `${files} files, ${publishable.length} publishable packages`;
    },
    { critical: true },
  );

  // As CI's `npm ci` would (root `prepare`): built output and the LICENSE
  // copies exist before lerna looks at the packages.
  await step(
    'build the snapshot',
    async () => {
      await run('npm', ['run', 'build'], {
        cwd: repo,
        env: cleanEnv(),
        timeoutMs: PUBLISH_TIMEOUT_MS,
        label: 'npm run build',
      });
    },
    { critical: true },
  );

  await step('npm pack --dry-run lists only dist, README.md, LICENSE, package.json', async () => {
    const args = ['pack', '--dry-run', '--json', ...publishable.map((ws) => `--workspace=${ws.rel}`)];
    const { stdout } = await run('npm', args, { cwd: repo, env: cleanEnv(), timeoutMs: QUICK_COMMAND_TIMEOUT_MS });
    const problems = [];
    for (const packed of JSON.parse(stdout) as { name: string; files: { path: string }[] }[]) {
      const paths = packed.files.map((file) => file.path);
      const stray = paths.filter(
        (path) => !path.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(path),
      );
      const maps = paths.filter((path) => path.endsWith('.map') || path.endsWith('.tsbuildinfo'));
      if (stray.length || maps.length) problems.push(`${packed.name}: ${[...stray, ...maps].join(', ')}`);
      if (!paths.includes('LICENSE')) problems.push(`${packed.name}: no LICENSE`);
    }
    if (problems.length) throw new Error(problems.join('; '));
    return `${publishable.length} packages`;
  });

  await step(
    'start Verdaccio',
    async () => {
      const uplink = execFileSync('npm', ['config', 'get', 'registry'], {
        cwd: root,
        env: cleanEnv(),
        encoding: 'utf8',
      }).trim();
      // Verdaccio lives as long as the test: its reaper also removes the temp
      // folder should this process be SIGKILLed.
      registry = await startVerdaccio({ root, dir: folder('verdaccio'), uplink, env: cleanEnv(), orphanDir: tmp });
      const npmrc = join(tmp, 'npmrc');
      const host = registry.url.replace(/^http:/, '');
      // npm only sends a publish with some auth for the registry; Verdaccio's
      // `publish: $anonymous` accepts it whatever the token says.
      writeFileSync(
        npmrc,
        [
          `registry=${registry.url}`,
          `${host}:_authToken=registry-test`,
          'audit=false',
          'fund=false',
          'update-notifier=false',
          '',
        ].join('\n'),
      );
      env = cleanEnv({
        NPM_CONFIG_USERCONFIG: npmrc,
        npm_config_registry: registry.url,
        npm_config_cache: join(tmp, 'npm-cache'),
        // lerna's project graph (nx): no daemon left behind, no cloud.
        NX_DAEMON: 'false',
        NX_NO_CLOUD: 'true',
      });
      return `${registry.url}, uplink ${uplink}`;
    },
    { critical: true },
  );

  await step(
    'npm run release (lerna publish) to Verdaccio',
    async () => {
      if (!/^http:\/\/127\.0\.0\.1:\d+\/$/.test(registry.url))
        throw new Error(`refusing to publish to ${registry.url}`);
      const head = execFileSync('git', ['rev-parse', REF ?? 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
      const { stdout, stderr } = await run(
        'npm',
        ['run', 'release', '--', 'from-package', '--yes', '--registry', registry.url, '--git-head', head],
        {
          cwd: repo,
          env,
          timeoutMs: PUBLISH_TIMEOUT_MS,
          label: 'lerna publish',
        },
      );
      const output = stdout + stderr;
      for (const ws of publishable) {
        if (!output.includes(`${ws.manifest.name}@${ws.manifest.version}`))
          throw new Error(
            `lerna did not publish ${ws.manifest.name}@${ws.manifest.version}${tail({ stdout, stderr })}`,
          );
        published.set(ws.manifest.name, { version: ws.manifest.version, rel: ws.rel });
      }
      return `${published.size} packages`;
    },
    { critical: true },
  );

  await step('private workspaces stay unpublished', async () => {
    const privates = workspaces(repo)
      .filter((ws) => ws.manifest.private)
      .map((ws) => ws.manifest.name);
    for (const name of privates) {
      const { code, stderr } = await run('npm', ['view', name, 'version'], {
        cwd: tmp,
        env,
        timeoutMs: QUICK_COMMAND_TIMEOUT_MS,
        allowFailure: true,
      });
      if (code === 0 || !/E404/.test(stderr))
        throw new Error(`${name} is private but the registry knows it (exit ${code})`);
    }
    return privates.join(', ');
  });

  // What the registry serves, package by package.
  const tarballs = folder('tarballs');
  await step(
    'fetch every tarball back from the registry',
    async () => {
      const specs = [...published].map(([name, { version }]) => `${name}@${version}`);
      const { stdout } = await run('npm', ['pack', ...specs, '--json', '--pack-destination', tarballs], {
        cwd: tarballs,
        env,
        timeoutMs: INSTALL_TIMEOUT_MS,
      });
      for (const packed of JSON.parse(stdout) as { name: string; filename: string }[]) {
        const dir = join(tarballs, packed.name.replace('/', '__'));
        mkdirSync(dir);
        const tarball = join(tarballs, packed.filename);
        execFileSync('tar', ['-xzf', tarball, '-C', dir]);
        const entry = published.get(packed.name)!;
        entry.tarball = tarball;
        entry.check = checkPackage({ dir: join(dir, 'package'), rel: entry.rel, published, nodeEngine: NODE_ENGINE });
      }
      return `${specs.length} tarballs`;
    },
    { critical: true },
  );

  for (const [name, { check }] of published) {
    for (const message of check!.failures) fail(`${name}: ${message}`);
    for (const message of check!.notes) note(`${name}: ${message}`);
    if (!check!.failures.length)
      pass(`${name}: files, manifest, imports and dependencies (${check!.files.length} files)`);
  }

  // The community's packaging linters, beside the checks above: publint
  // (manifest and files as bundlers and Node read them) and
  // @arethetypeswrong/cli (that TypeScript resolves the types of every
  // entry point). The packages are ESM only, so attw's esm-only profile:
  // a CommonJS consumer reaches them through import().
  const lintOne = (name: string, tarball: string) =>
    step(`${name}: publint and attw`, async () => {
      await run(process.execPath, [toolBin('publint'), 'run', '--strict', tarball], {
        cwd: tarballs,
        env,
        timeoutMs: LINT_TIMEOUT_MS,
        label: `publint ${name}`,
      });
      await run(
        process.execPath,
        [toolBin('attw'), '--profile', 'esm-only', '--format', 'ascii', '--no-color', '--no-definitely-typed', tarball],
        { cwd: tarballs, env, timeoutMs: LINT_TIMEOUT_MS, label: `attw ${name}` },
      );
    });
  const queue = [...published].map(
    ([name, { tarball }]) =>
      () =>
        lintOne(name, tarball!),
  );
  await Promise.all(
    Array.from({ length: LINT_CONCURRENCY }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await next();
    }),
  );

  // Everything together, as one consumer installing every package.
  const all = folder('all', CONSUMER);
  await step(
    `npm install every package (${published.size})`,
    async () => {
      const specs = [...published].map(([name, { version }]) => `${name}@${version}`);
      await run('npm', ['install', ...specs], { cwd: all, env, timeoutMs: INSTALL_TIMEOUT_MS });
    },
    { critical: true },
  );

  // Every package from ESM, and from CommonJS through require(esm), which
  // Node has without a flag since 20.19 and 22.12: it works because no entry
  // module uses top-level await (docs/api.md, "CommonJS").
  const loaders = [
    { verb: 'import', file: 'load-all.mjs', load: 'await import(name)' },
    { verb: 'require', file: 'load-all.cjs', load: 'require(name)' },
  ];
  for (const { verb, file, load } of loaders) {
    await step(`${verb} every package`, async () => {
      writeFileSync(
        join(all, file),
        `(async () => {
  const failures = [];
  for (const name of process.argv.slice(2)) {
    try { ${load}; } catch (error) { failures.push(name + ': ' + error.message); }
  }
  console.log(JSON.stringify(failures));
  process.exit(0);
})();
`,
      );
      const { stdout } = await run(process.execPath, [file, ...published.keys()], {
        cwd: all,
        env,
        timeoutMs: QUICK_COMMAND_TIMEOUT_MS,
      });
      const failures = JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as string[];
      if (failures.length) throw new Error(failures.join('; '));
    });
  }

  // tsc checks our declarations against @types/node: the slowest check, so it
  // runs while the scenarios below wait on npm and the network.
  const typeCheck = step('type-check a consumer of every package (declarations included)', async () => {
    const lines = [...published.keys()].map((name, i) => `import * as p${i} from '${name}';\nexport { p${i} };`);
    writeFileSync(join(all, 'consumer.ts'), `${lines.join('\n')}\n`);
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = [
      '--noEmit',
      '--strict',
      '--target',
      'es2022',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--types',
      'node',
      '--typeRoots',
      join(root, 'node_modules', '@types'),
      'consumer.ts',
    ];
    await run(process.execPath, [tsc, ...args], { cwd: all, env, timeoutMs: 60_000, label: 'tsc consumer.ts' });
  });

  for (const [name, { version, check }] of published) {
    for (const bin of Object.keys(check!.bins)) {
      await step(`${bin} --version and --help (installed from the registry)`, async () => {
        const binPath = join(all, 'node_modules', '.bin', bin);
        const versionRun = await run(binPath, ['--version'], { cwd: all, env, timeoutMs: QUICK_COMMAND_TIMEOUT_MS });
        if (versionRun.stdout.trim() !== version)
          throw new Error(
            `${bin} --version printed ${JSON.stringify(versionRun.stdout.trim())}, not ${version} (${name})`,
          );
        const helpRun = await run(binPath, ['--help'], { cwd: all, env, timeoutMs: QUICK_COMMAND_TIMEOUT_MS });
        if (!helpRun.stdout.includes('--port') && !helpRun.stdout.includes('--help'))
          throw new Error(`${bin} --help printed no usage`);
      });
    }
  }

  // The headline: npx of the flagship server in a new empty folder.
  const headlineName = '@fib/server-cluster';
  const headlineBin = 'fib-server-cluster';
  await step(`npx ${headlineName} --port 0 answers ${HEADLINE.n} with ${HEADLINE.answer}`, async () => {
    const dir = folder('npx-server');
    const proc = spawnGuarded('npx', ['--yes', headlineName, '--port', '0'], {
      cwd: dir,
      env,
      label: `npx ${headlineName}`,
      graceMs: STOP_TIMEOUT_MS,
    });
    try {
      const { host, port } = await proc.waitReady(NPX_READY_TIMEOUT_MS);
      await askHeadline(host, port, { terminator: '' });
      // Ctrl-C on npx: the terminal signals the whole foreground group. Only
      // the group reaches the server: npm relays a signal to its `sh -c`
      // child, and sh neither relays nor execs, so a SIGTERM to npx's pid
      // alone leaves the server running, orphaned. npm itself then exits
      // 130 whatever the server did: here only "everything ended" counts;
      // the exit code is judged on the installed bin below.
      await stopServer(proc, 'SIGINT', { group: true, anyExit: true });
    } finally {
      proc.signal('SIGKILL', { group: true });
    }
  });

  // The library: npm install @fib/server-pool, then import { start } and serve.
  let server: (GuardedProcess & { host: string; port: number }) | undefined;
  await step('npm install @fib/server-pool, import { start } and serve', async () => {
    const dir = folder('library', CONSUMER);
    const library = '@fib/server-pool';
    await run('npm', ['install', library], { cwd: dir, env, timeoutMs: INSTALL_TIMEOUT_MS });
    writeFileSync(
      join(dir, 'serve.mjs'),
      `import { start } from '${library}';

const server = await start({ port: 0, workers: 2 });
console.log(\`listening on \${server.address.host}:\${server.address.port}\`);
// Graceful close must release everything: the process then ends on its own.
process.once('SIGTERM', () => server.close());
`,
    );
    const proc = spawnGuarded(process.execPath, ['serve.mjs'], {
      cwd: dir,
      env,
      label: `${library} via import { start }`,
      graceMs: STOP_TIMEOUT_MS,
    });
    const { host, port } = await proc.waitReady(ANSWER_TIMEOUT_MS);
    server = Object.assign(proc, { host, port });
    await askHeadline(host, port, { terminator: '\n' });
    return library;
  });

  const measured = server;
  if (!published.has('@fib/perf')) fail('@fib/perf is not published');
  else if (!measured) fail('npx -p @fib/perf fib-perf2: no library server to measure');
  else {
    await step('npx -p @fib/perf fib-perf2 --duration 1 measures it', async () => {
      const dir = folder('npx-perf');
      const { stdout } = await run(
        'npx',
        [
          '--yes',
          '-p',
          '@fib/perf',
          'fib-perf2',
          '--duration',
          '1',
          '--host',
          measured.host,
          '--port',
          String(measured.port),
        ],
        {
          cwd: dir,
          env,
          timeoutMs: NPX_READY_TIMEOUT_MS,
          label: 'npx -p @fib/perf fib-perf2',
        },
      );
      const rates = [...stdout.matchAll(/([\d][\d,.]*)\s*reqs\/sec/g)].map((match) =>
        Number(match[1]!.replace(/,/g, '')),
      );
      if (!rates.some((rate) => rate > 0))
        throw new Error(`no "N reqs/sec" with N > 0 in its output${tail({ stdout, stderr: '' })}`);
      return `${Math.max(...rates)} reqs/sec`;
    });
  }
  if (measured && !measured.done) {
    await step('the library server closes gracefully on server.close()', async () => {
      await stopServer(measured, 'SIGTERM');
    });
  }

  await typeCheck; // before timing: keep the CPU quiet while measuring
  await step(`the installed ${headlineBin} answers, then exits 0 on SIGTERM with no process left`, async () => {
    const proc = spawnGuarded(join(all, 'node_modules', '.bin', headlineBin), ['--port', '0'], {
      cwd: all,
      env,
      label: headlineBin,
      graceMs: STOP_TIMEOUT_MS,
    });
    try {
      const { host, port } = await proc.waitReady(ANSWER_TIMEOUT_MS);
      await askHeadline(host, port, { terminator: '\n' });
      await stopServer(proc, 'SIGTERM');
    } finally {
      proc.signal('SIGKILL', { group: true });
    }
  });
  await step(`start-up of the installed ${headlineBin}`, async () => {
    const binPath = join(all, 'node_modules', '.bin', headlineBin);
    const versionTimes = await timeVersion(binPath, {
      cwd: all,
      env,
      runs: VERSION_RUNS,
      timeoutMs: QUICK_COMMAND_TIMEOUT_MS,
    });
    // Only the timing counts here; the step above judged the shutdown.
    const listenTimes = await timeListening(binPath, ['--port', '0'], {
      cwd: all,
      env,
      runs: LISTEN_RUNS,
      timeoutMs: ANSWER_TIMEOUT_MS,
    });
    const ms = (value: number) => `${Math.round(value)} ms`;
    let detail =
      `--version median ${ms(median(versionTimes))} (min ${ms(Math.min(...versionTimes))}, ${VERSION_RUNS} runs); ` +
      `listening median ${ms(median(listenTimes))} (min ${ms(Math.min(...listenTimes))}, ${LISTEN_RUNS} runs)`;
    // hyperfine, when installed, for a second opinion on --version.
    const report = join(tmp, 'hyperfine.json');
    const hyperfine = await run(
      'hyperfine',
      ['-N', '--warmup', '3', '--runs', String(VERSION_RUNS), '--export-json', report, `${binPath} --version`],
      {
        cwd: all,
        env,
        timeoutMs: 60_000,
        allowFailure: true,
        label: 'hyperfine',
      },
    ).catch(() => null);
    if (hyperfine?.code === 0) {
      const [{ mean, stddev, min }] = (
        JSON.parse(readFileSync(report, 'utf8')) as { results: [{ mean: number; stddev: number; min: number }] }
      ).results;
      detail += `; hyperfine --version ${ms(mean * 1000)} ± ${ms(stddev * 1000)} (min ${ms(min * 1000)})`;
    }
    if (median(versionTimes) > MAX_VERSION_MEDIAN_MS || median(listenTimes) > MAX_LISTEN_MEDIAN_MS)
      throw new Error(`too slow: ${detail}`);
    return detail;
  });
}

let exitCode = 1;
try {
  await main();
} catch (error) {
  if (!(error instanceof Abort)) fail(`registry test crashed: ${(error as Error).stack}`);
} finally {
  clearTimeout(watchdog);
  await stopAll();
  exitCode = summary() > 0 ? 1 : 0;
  cleanupSync();
}
process.exit(exitCode);
