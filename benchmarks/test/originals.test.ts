import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForReady, type ReadyAddress } from '@fib/testkit/ready';
import { parseBenchArgs, UsageError } from '../src/lib/options.js';
import { findPython, ORIGINALS, originalStrategies, selectRows } from '../src/lib/originals.js';
import { processTree, startTime } from '../src/lib/proctree.js';
import type { StrategyPackage } from '../src/lib/strategies.js';

// The Python originals, through their real scripts: the habits of the
// original clients (a request without a newline, then wait for the answer),
// SIGTERM, and no process left behind. Then how the lab picks them, and how
// it does without python3.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bench = join(ROOT, 'benchmarks', 'dist', 'bench.js');
const python = findPython();
const pythonTest = 'path' in python ? test : test.skip;

/** A Python fib(30) takes about 125 ms alone; a loaded 2-core machine can make it seconds. */
const ANSWER_TIMEOUT_MS = 20_000;
/** Importing multiprocessing and forking the workers: well under a second, unless the machine is starved. */
const READY_TIMEOUT_MS = 20_000;
/** How long a stopped server may take: it joins its workers, which may be finishing a fib(30). */
const EXIT_TIMEOUT_MS = 15_000;
/** How long the sequential server is given to (wrongly) answer a second client while the first is connected. */
const SEQUENTIAL_QUIET_MS = 500;

/** A Python original, listening: its address as the test kit reads it, and the name it gave. */
interface Server extends ReadyAddress {
  child: ChildProcess;
  name: string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];
test.after.always(() => {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) {
      for (const pid of processTree(child.pid!).reverse()) killQuietly(pid);
    }
  }
});

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

async function startPython(script: string): Promise<Server> {
  if (!('path' in python)) throw new Error('no python3');
  const child = spawn(python.path, [script, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = once(child, 'close').then(([code, signal]) => ({ code, signal }) as Awaited<Server['exited']>);
  const address = await waitForReady(child.stdout!, {
    timeoutMs: READY_TIMEOUT_MS,
    exited,
    label: script,
    context: () => `; stdout ${JSON.stringify(out)} stderr ${err}`,
  });
  // The word before "listening on": the strategy's name, as the Node servers print theirs.
  const name = /^(\S*) ?listening on /m.exec(out)?.[1] ?? '';
  return { ...address, child, name, stderr: () => err, exited };
}

/** A client with the originals' habits: write one request, read until its answer line, repeat. */
class Client {
  readonly socket: Socket;
  #buffer = '';
  #ended = false;
  #wake: (() => void) | null = null;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#wake?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
  }

  static async open(port: number): Promise<Client> {
    const socket = connect({ port, host: '127.0.0.1' });
    await once(socket, 'connect');
    return new Client(socket);
  }

  /** The next line, or null when the server closed; null too after `timeoutMs` when `orNull`. */
  async line(timeoutMs = ANSWER_TIMEOUT_MS, orNull = false): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const newline = this.#buffer.indexOf('\n');
      if (newline !== -1) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        return line;
      }
      if (this.#ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) {
        if (orNull) return null;
        throw new Error(`no answer within ${timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  async ask(request: string): Promise<string | null> {
    this.socket.write(request);
    return this.line();
  }
}

/** Every process under `pid`, each with its start time (a pid and its start time name one process). */
function descendantsOf(pid: number): Map<number, string> {
  const found = new Map<number, string>();
  for (const child of processTree(pid)) {
    const started = child === pid ? null : startTime(child);
    if (started !== null) found.set(child, started);
  }
  return found;
}

async function waitGone(processes: Map<number, string>, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = [...processes].filter(([pid, started]) => isAliveSince(pid, started)).map(([pid]) => pid);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Alive and not a zombie: a zombie has exited and only waits for its parent to read its status. */
function isAliveSince(pid: number, started: string): boolean {
  if (startTime(pid) !== started) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The fewest worker processes each server must have while two clients are connected (the rest have none). */
const WORKER_PROCESSES: Record<string, number> = {
  'py-pool': 4, // the original's ProcessPoolExecutor(4)
  'py-fork': 1, // a child per connection still open
  'py-process-pool': 1, // one per core
  'py-queue': 1, // one per core
};

for (const original of ORIGINALS) {
  pythonTest(
    `${original.name} (${original.file}): the original client's habits at depth 1, then SIGTERM leaves no process`,
    async (t) => {
      const script = join(ROOT, 'benchmarks', 'baselines', 'python', original.file);
      const server = await startPython(script);
      t.is(server.name, original.name);

      const first = await Client.open(server.port);
      // As perf1 did: "30" with no newline, then wait.
      t.is(await first.ask('30'), '832040');
      // One connection, several requests, one per read.
      t.is(await first.ask('1'), '1');
      t.is(await first.ask('10\n'), '55');
      t.is(await first.ask('0'), '0');
      t.is(await first.ask('27\r\n'), '196418');
      t.regex((await first.ask('abc'))!, /^ERR bad_request /);
      t.regex((await first.ask('41'))!, /^ERR out_of_range /);
      t.is(await first.ask('20'), '6765', 'the connection is still served after an error');

      const second = await Client.open(server.port);
      second.socket.write('25');
      if (original.pairOf === 'sequential') {
        // Served only once the first client leaves.
        t.is(await second.line(SEQUENTIAL_QUIET_MS, true), null, 'sequential answered a second client too soon');
        first.socket.end();
        t.is(await second.line(), '75025');
      } else {
        t.is(await second.line(), '75025');
        t.is(await first.ask('5'), '5', 'both connections served at once');
      }

      const workers = descendantsOf(server.child.pid!);
      const expected = WORKER_PROCESSES[original.name];
      if (expected !== undefined) t.true(workers.size >= expected, `${workers.size} worker process(es)`);
      server.child.kill('SIGTERM');
      const timer = setTimeout(() => server.child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
      const exit = await server.exited;
      clearTimeout(timer);
      t.deepEqual(exit, { code: 0, signal: null }, server.stderr());
      t.is(server.stderr(), '', 'nothing on stderr (no traceback)');
      t.deepEqual(await waitGone(workers, EXIT_TIMEOUT_MS), [], 'no worker outlives the server');
      // The client still connected sees its server go.
      t.is(await second.line(), null);
      first.socket.destroy();
      second.socket.destroy();
    },
  );
}

test('the originals are on in a full run, off with --quick, and --originals / --no-originals choose', (t) => {
  t.true(parseBenchArgs([]).originals);
  t.false(parseBenchArgs(['--quick']).originals);
  t.true(parseBenchArgs(['--quick', '--originals']).originals);
  t.false(parseBenchArgs(['--no-originals']).originals);
  t.throws(() => parseBenchArgs(['--originals', '--no-originals']), { instanceOf: UsageError });
});

test('selectRows puts each original just before its Node port, and a named py-* row runs in any case', (t) => {
  const node = ['sequential', 'async', 'thread', 'cluster'].map(
    (name): StrategyPackage => ({ name, packageName: name, binName: name, script: `/x/${name}.js` }),
  );
  const originals = originalStrategies('/root', 'python3');
  const names = (rows: StrategyPackage[]) => rows.map((s) => s.name);
  t.deepEqual(names(selectRows(node, originals, [], false)), ['sequential', 'async', 'thread', 'cluster']);
  t.deepEqual(names(selectRows(node, originals, [], true)), [
    'py-sequential',
    'sequential',
    'py-asyncio',
    'async',
    'py-thread',
    'thread',
    'cluster',
    // Their Node ports are not in this list: the originals still run, last.
    'py-pool',
    'py-fork',
    'py-process-pool',
    'py-queue',
  ]);
  t.deepEqual(names(selectRows(node, originals, ['thread'], true)), ['py-thread', 'thread']);
  t.deepEqual(names(selectRows(node, originals, ['thread'], false)), ['thread']);
  t.deepEqual(names(selectRows(node, originals, ['py-thread'], false)), ['py-thread']);
  t.throws(() => selectRows(node, originals, ['py-nope'], true), { message: /unknown strategy py-nope/ });
  const thread = originals.find((o) => o.name === 'py-thread')!;
  t.is(thread.interpreter, 'python3');
  t.is(thread.script, '/root/benchmarks/baselines/python/server_with_thread.py');
});

test('findPython: none on PATH, one too old, and the real one', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fib-no-python-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.deepEqual(findPython({ PATH: dir }), { missing: 'python3 not found on PATH' });
  // A python3 that says it is older than 3.9 (its exit status answers the version check).
  const fake = join(dir, 'python3');
  writeFileSync(fake, '#!/bin/sh\nexit 1\n');
  chmodSync(fake, 0o755);
  const old = findPython({ PATH: dir });
  t.true('missing' in old && /is not a Python 3\.9 or later/.test(old.missing), JSON.stringify(old));
  if ('path' in python) t.regex(python.path, /python3$/);
});

function runBench(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bench, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The table's rows, by strategy name. */
function rows(markdown: string): Map<string, string[]> {
  const table = new Map<string, string[]>();
  for (const line of markdown.split('\n')) {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells.length === 12 && cells[0] !== 'strategy' && !cells[0]!.startsWith('---')) table.set(cells[0]!, cells);
  }
  return table;
}

const SHORT_RUN = [
  '--strategies',
  'sequential',
  '--scenarios',
  'A',
  '--duration',
  '0.3',
  '--rounds',
  '1',
  '--originals',
];

test('the lab skips the py-* rows with a note when python3 is not on PATH', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fib-bench-no-python-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A PATH holding nothing at all: the bench and its Node servers run by absolute path.
  const result = await runBench([...SHORT_RUN, '--out', join(dir, 'out')], {
    ...process.env,
    PATH: join(dir, 'empty'),
  });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /python3 not found on PATH: the Python originals were skipped \(py-sequential\)/);
  const table = rows(result.stdout);
  t.deepEqual([...table.keys()], ['sequential']);
  t.is(table.get('sequential')!.at(-1), 'ok');
  t.regex(result.stdout, /- python3 not found on PATH: the Python originals were skipped/, 'noted under the table');
});

pythonTest('with python3 on PATH the same run measures py-sequential, just before sequential', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fib-bench-python-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const result = await runBench([...SHORT_RUN, '--out', join(dir, 'out')], process.env);
  t.is(result.code, 0, result.stderr);
  const table = rows(result.stdout);
  t.deepEqual([...table.keys()], ['py-sequential', 'sequential']);
  const py = table.get('py-sequential')!;
  t.is(py.at(-1), 'ok', py.join(' | '));
  t.regex(py[1]!, /^[\d,]+$/, 'an A rate');
  t.true(Number(py[1]!.replace(/,/g, '')) > 0);
  t.regex(result.stdout, /\*\*py-\\\*\*\*: the Python originals/);
});
