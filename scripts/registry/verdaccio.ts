// A throwaway Verdaccio on loopback: storage in the test's temp folder, the
// @fib scope served only from what gets published to it (never proxied, so a
// package that failed to publish cannot be fetched from elsewhere), everything
// else proxied to the registry this machine is configured with.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { spawnGuarded, tail, type GuardedProcess } from './procs.js';

const HOST = '127.0.0.1';
/** Verdaccio 6 boots in 2-4 s on a small machine; this leaves room for a slow CI box. */
const BOOT_TIMEOUT_MS = 45_000;
/** A free port can be taken between probing it and Verdaccio binding it: try a few. */
const PORT_ATTEMPTS = 3;
/** Proxy timeout for third-party packages (piscina, tinypool, hdr-histogram-js...). */
const UPLINK_TIMEOUT = '60s';

function verdaccioBin(root: string): string {
  const require = createRequire(join(root, 'package.json'));
  const manifestPath = require.resolve('verdaccio/package.json');
  const { bin } = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: string | Record<string, string> };
  return join(dirname(manifestPath), typeof bin === 'string' ? bin : bin.verdaccio!);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function config({ storage, htpasswd, uplink }: { storage: string; htpasswd: string; uplink: string }): string {
  // YAML written by hand: JSON strings are valid YAML scalars, which quotes
  // the paths safely whatever the temp folder is called.
  const q = JSON.stringify;
  return `storage: ${q(storage)}
auth:
  htpasswd:
    file: ${q(htpasswd)}
    max_users: -1
uplinks:
  upstream:
    url: ${q(uplink)}
    timeout: ${UPLINK_TIMEOUT}
packages:
  '@fib/*':
    access: $all
    publish: $anonymous
    unpublish: $anonymous
  '**':
    access: $all
    publish: $authenticated
    proxy: upstream
web:
  enable: false
max_body_size: 50mb
logs:
  type: stdout
  format: pretty
  level: warn
`;
}

async function ping(url: string): Promise<boolean> {
  try {
    const response = await fetch(new URL('-/ping', url), { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Starts Verdaccio and resolves once it answers /-/ping. `dir` must be empty
 * and private to this run; the caller stops the returned process (or lets
 * procs.stopAll do it). `orphanDir` is removed if the caller dies first.
 */
export interface Verdaccio {
  url: string;
  port: number;
  proc: GuardedProcess;
}

export async function startVerdaccio({
  root,
  dir,
  uplink,
  env,
  orphanDir,
}: {
  root: string;
  dir: string;
  uplink: string;
  env: NodeJS.ProcessEnv;
  orphanDir: string;
}): Promise<Verdaccio> {
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, config({ storage: join(dir, 'storage'), htpasswd: join(dir, 'htpasswd'), uplink }));
  const bin = verdaccioBin(root);
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    const url = `http://${HOST}:${port}/`;
    const proc = spawnGuarded(process.execPath, [bin, '--config', configPath, '--listen', `${HOST}:${port}`], {
      cwd: dir,
      env,
      label: 'verdaccio',
      orphanDir,
    });
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    while (!proc.done && Date.now() < deadline) {
      if (await ping(url)) return { url, port, proc };
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    proc.signal('SIGKILL', { group: true });
    await proc.exited;
    lastError = new Error(`verdaccio did not answer ${url}-/ping (attempt ${attempt})${tail(proc)}`);
    if (!/EADDRINUSE/.test(proc.stdout + proc.stderr)) break;
  }
  throw lastError ?? new Error('verdaccio did not start');
}
