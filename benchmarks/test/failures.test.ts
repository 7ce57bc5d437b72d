import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchmarkEntries } from '../src/lib/entries.js';
import { parseBenchArgs } from '../src/lib/options.js';
import { Progress } from '../src/lib/progress.js';
import { runStrategy } from '../src/lib/run.js';
import { markdownTable } from '../src/lib/table.js';
import type { StrategyPackage } from '../src/lib/strategies.js';

// Servers that misbehave on purpose: the bench must report them, stop them, and carry on.
const dir = mkdtempSync(join(tmpdir(), 'fib-bench-failures-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, source: string): StrategyPackage {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(path, source);
  return { name, packageName: `test/${name}`, binName: name, script: path };
}

const options = parseBenchArgs(['--quick', '--duration', '0.3', '--scenarios', 'A,B']);
const quiet = new Progress({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);
const never = new AbortController().signal;

test('a strategy whose bin is not built is reported as failed', async (t) => {
  const missing: StrategyPackage = {
    name: 'missing',
    packageName: 'x',
    binName: 'x',
    script: join(dir, 'nope', 'bin.js'),
  };
  const outcome = await runStrategy(missing, options, never, quiet);
  t.is(outcome.status, 'failed');
  t.regex(outcome.error!, /not built: .*nope\/bin\.js is missing/);
});

test('a strategy that exits before it is ready is failed with its stderr', async (t) => {
  const crash = script('crash', `console.error('cannot load the worker'); process.exit(4);`);
  const outcome = await runStrategy(crash, options, never, quiet);
  t.is(outcome.status, 'failed');
  t.regex(outcome.error!, /did not start: exited before it was ready \(code 4\): cannot load the worker/);
});

test('a server that dies during a scenario is failed; the table and results.json name it', async (t) => {
  const dies = script(
    'dies',
    `
    import { createServer } from 'node:net';
    const server = createServer((socket) => { console.error('dying on purpose'); process.exit(3); });
    server.listen(0, '127.0.0.1', () => console.log('dies listening on 127.0.0.1:' + server.address().port));
  `,
  );
  const outcome = await runStrategy(dies, options, never, quiet);
  t.is(outcome.status, 'failed');
  t.regex(outcome.error!, /exited during A \(code 3\): dying on purpose/);
  const table = markdownTable([outcome]);
  t.regex(table, /\| dies \| 0 \|.*\| \*\*failed\*\* \* \|/);
  const ratio = benchmarkEntries([outcome], options.scenarios).find((e) => e.unit === 'x');
  t.is(ratio?.value, 0);
  t.regex(ratio?.extra ?? '', /^failed: /);
});

test('descendants left running after the server exits are killed and noted', async (t) => {
  const leaky = script(
    'leaky',
    `
    import { spawn } from 'node:child_process';
    import { createServer } from 'node:net';
    // A child that would outlive its parent: it ignores SIGTERM and the server does not stop it.
    spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const server = createServer((socket) => socket.on('data', () => socket.write('1\\n')));
    server.listen(0, '127.0.0.1', () => setTimeout(() => console.log('leaky listening on 127.0.0.1:' + server.address().port), 300));
    process.on('SIGTERM', () => process.exit(0));
  `,
  );
  const outcome = await runStrategy(leaky, { ...options, scenarios: ['A'] }, never, quiet);
  t.is(outcome.status, 'ok', outcome.error ?? '');
  t.true(outcome.peakProcesses >= 2);
  t.true(
    outcome.notes.some((n) => /1 descendant process\(es\) outlived the server and were killed/.test(n)),
    outcome.notes.join('; '),
  );
});
