// The embedded default: without --nats, fib-server-nats runs its own
// nats-server (from PATH) on a free loopback port with a temporary store, and
// nothing of it outlives the server.
import './helpers/reap.js';
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { RawClient, descendants, runBin, serverStarter, until, waitGone } from '@fib/testkit';

const PKG = '@fib/server-nats';
const BIN = 'fib-server-nats';
const start = serverStarter(test, PKG, BIN);

/** The nats-server among `pids` and its store folder (its `-sd` argument). */
function natsServerOf(pids: readonly number[]): { pid: number; store: string } | undefined {
  for (const pid of pids) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!argv[0]!.endsWith('nats-server')) continue;
      return { pid, store: argv[argv.indexOf('-sd') + 1]! };
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`without --nats it runs its own nats-server; after ${signal} neither it nor its store is left`, async (t) => {
    const server = await start(['--workers', '1']);
    const client = await RawClient.connect(server.port);
    t.is(await client.ask('25'), '75025');
    const pids = descendants(server.pid);
    const nats = natsServerOf(pids);
    if (nats === undefined) return t.fail(`no nats-server among ${pids.join(', ')}`);
    t.true(existsSync(nats.store));
    client.end();
    const exit = await server.stop(signal);
    t.deepEqual(exit, signal === 'SIGTERM' ? { code: 0, signal: null } : { code: null, signal: 'SIGKILL' });
    // After a SIGKILL, the keeper learns it from its closed IPC channel and cleans up.
    await waitGone(pids);
    await until(() => !existsSync(nats.store), 'the temporary store is removed');
  });
}

test('the embedded nats-server dies: it is started again on the same port, and the server goes on', async (t) => {
  const server = await start(['--workers', '1']);
  const client = await RawClient.connect(server.port);
  t.is(await client.ask('20'), '6765');
  const nats = natsServerOf(descendants(server.pid));
  if (nats === undefined) return t.fail('no nats-server');
  process.kill(nats.pid, 'SIGKILL');
  await server.waitFor(/embedded nats-server is back/, 'stderr');
  // Requests during the restart wait (or get ERR busy past the outage grace): ask until served, bounded.
  let answer: string | null = null;
  for (let attempt = 0; attempt < 100 && answer !== '610'; attempt++) {
    answer = await client.ask('15');
    if (answer !== '610') await new Promise((resolve) => setTimeout(resolve, 200));
  }
  t.is(answer, '610');
  client.end();
});

test('without nats-server on PATH and without --nats: one line saying how to install it, exit 2', async (t) => {
  // PATH holds only node's folder: no nats-server there.
  const run = runBin(PKG, BIN, ['--port', '0'], { PATH: dirname(process.execPath) });
  t.deepEqual(await run.exited, { code: 2, signal: null });
  t.is(run.stdout(), '');
  const lines = run.stderr().trim().split('\n');
  t.is(lines.length, 1);
  t.regex(lines[0]!, /^fib-server-nats: nats-server was not found on PATH: .*apt-get install nats-server.*--nats URL/);
  // A wrong flag is still reported as such, and --help needs no NATS.
  const bad = runBin(PKG, BIN, ['--bogus'], { PATH: dirname(process.execPath) });
  t.is((await bad.exited).code, 2);
  t.regex(bad.stderr(), /unknown option --bogus/);
  const help = runBin(PKG, BIN, ['--help'], { PATH: dirname(process.execPath) });
  t.deepEqual(await help.exited, { code: 0, signal: null });
  t.regex(help.stdout(), /--nats URL/);
});

test('fib-worker-nats: --help, --version, and exit 2 without --nats', async (t) => {
  const help = runBin(PKG, 'fib-worker-nats', ['--help']);
  t.deepEqual(await help.exited, { code: 0, signal: null });
  t.regex(help.stdout(), /Usage: fib-worker-nats --nats URL/);
  const version = runBin(PKG, 'fib-worker-nats', ['--version']);
  t.deepEqual(await version.exited, { code: 0, signal: null });
  t.regex(version.stdout(), /^\d+\.\d+\.\d+\n$/);
  const missing = runBin(PKG, 'fib-worker-nats', [], { FIB_NATS: '' });
  t.deepEqual(await missing.exited, { code: 2, signal: null });
  t.regex(missing.stderr(), /--nats is required/);
});

test('the worker entry refuses to run without an IPC channel', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { createRequire } = await import('node:module');
  const root = dirname(createRequire(import.meta.url).resolve(`${PKG}/package.json`));
  for (const entry of ['dist/worker.js', 'dist/nats-keeper.js']) {
    const run = spawnSync(process.execPath, [`${root}/${entry}`], { encoding: 'utf8', timeout: 20_000 });
    t.is(run.status, 2, entry);
    t.regex(run.stderr, /worker process entry/, entry);
  }
});
