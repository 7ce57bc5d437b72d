// Nothing of NATS outlives its owner, however the owner dies: a SIGKILL runs
// no exit handler, so nats-server must be tied to its parent by the kernel
// (the parent-death signal), both the embedded one (its owner is the keeper
// process) and those the tests start (their owner is the test process).
import './helpers/reap.js';
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { descendants, serverStarter, until, waitGone } from '@fib/testkit';

const start = serverStarter(test, '@fib/server-nats', 'fib-server-nats');
/** The kernel sends the parent-death signal at once; this leaves room for a loaded 2-core machine. */
const GONE_WITHIN_MS = 5000;
const OWNER = fileURLToPath(new URL('./helpers/nats-owner.ts', import.meta.url));

/** The first argument of each live process among `pids`, by pid. */
function programs(pids: readonly number[]): Map<number, string[]> {
  const found = new Map<number, string[]>();
  for (const pid of pids) {
    try {
      found.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Whatever a failed check leaves behind is killed by pid, so that no test leaks what it tests for. */
function killAtEnd(t: { teardown(fn: () => void): void }, pid: number): void {
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  });
}

/** The embedded nats-server of a server, its store, and its keeper. */
function embeddedOf(serverPid: number): { nats: number; store: string; keeper: number } {
  const argvs = programs(descendants(serverPid));
  const nats = [...argvs].find(([, argv]) => argv[0]!.endsWith('nats-server'));
  const keeper = [...argvs].find(([, argv]) => argv.some((arg) => arg.endsWith('nats-keeper.js')));
  if (nats === undefined || keeper === undefined)
    throw new Error(`no nats-server or keeper among ${[...argvs.keys()]}`);
  return { nats: nats[0], store: nats[1][nats[1].indexOf('-sd') + 1]!, keeper: keeper[0] };
}

test('the keeper SIGKILLed: its nats-server goes with it, the store is removed, and the server fails clearly', async (t) => {
  const server = await start(['--workers', '1']);
  const { nats, store, keeper } = embeddedOf(server.pid);
  killAtEnd(t, nats);
  process.kill(keeper, 'SIGKILL');
  await waitGone([nats], GONE_WITHIN_MS);
  await until(() => !existsSync(store), 'the temporary store is removed');
  const exit = await server.exited;
  t.not(exit.code, 0);
  t.regex(server.stderr(), /keeper exited \(SIGKILL\)/);
});

test('the front-end and the keeper SIGKILLed at once: no nats-server is left', async (t) => {
  const server = await start(['--workers', '1']);
  const { nats, store, keeper } = embeddedOf(server.pid);
  killAtEnd(t, nats);
  // Nobody is left to remove the store: the test does.
  t.teardown(() => rmSync(store, { recursive: true, force: true }));
  process.kill(server.pid, 'SIGKILL');
  process.kill(keeper, 'SIGKILL');
  await waitGone([nats], GONE_WITHIN_MS);
  t.pass();
});

/** Starts the owner fixture; resolves with what it started, and its exit. */
async function startOwner() {
  const owner = spawn(process.execPath, ['--import', 'tsx', OWNER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => owner.once('exit', resolve));
  let out = '';
  owner.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  await until(() => out.includes('\n') || owner.exitCode !== null, 'the owner prints what it started');
  const started = JSON.parse(out) as { helperNats: number; store: string; server: number; embedded: number[] };
  return { owner, exited, started };
}

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  test(`a test process ended by ${signal}: the nats-server its helper started goes with it`, async (t) => {
    const { owner, exited, started } = await startOwner();
    const all = [started.helperNats, started.server, ...started.embedded];
    // The server's own keeper cleans up after it (the first test above).
    for (const pid of [started.helperNats, started.server]) killAtEnd(t, pid);
    try {
      t.true(programs([started.helperNats]).get(started.helperNats)?.[0]?.endsWith('nats-server'));
      owner.kill(signal);
      await waitGone([started.helperNats], GONE_WITHIN_MS);
      // ava's timeout sends SIGTERM: the servers the file started go too, embedded nats-server and all,
      // and the helper's store is removed on the way out; after a SIGKILL nothing can remove it.
      if (signal === 'SIGTERM') {
        await waitGone(all, GONE_WITHIN_MS);
        t.false(existsSync(started.store));
      } else rmSync(started.store, { recursive: true, force: true });
    } finally {
      owner.kill('SIGKILL');
      await exited;
    }
  });
}
