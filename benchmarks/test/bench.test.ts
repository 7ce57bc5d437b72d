import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareEntries } from '../src/lib/compare.js';
import type { BenchmarkEntry } from '../src/lib/entries.js';

const bench = fileURLToPath(new URL('../dist/bench.js', import.meta.url));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], timeoutMs = 80_000): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bench, ...args],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const isRatio = (e: BenchmarkEntry) => e.unit === 'x';

test('--quick over sequential and async writes results.json, the table and the chart; --compare gates on ratios', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fib-bench-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out');

  // A baseline no real run can reach: the run must come out regressed, and say which figures.
  const impossible: BenchmarkEntry[] = [
    { name: 'async B/A: perf2 rate kept under a fib(30) loop', unit: 'x', value: 1000 },
    { name: 'sequential E: scaling, most connections / one', unit: 'x', value: 1000 },
    { name: 'cluster B/A: perf2 rate kept under a fib(30) loop', unit: 'x', value: 1 },
  ];
  const impossiblePath = join(dir, 'impossible.json');
  writeFileSync(impossiblePath, JSON.stringify(impossible));

  // The timeline has its own test (timeline.test.ts): leave it out of this one, which is long enough.
  const result = await run([
    '--quick',
    '--no-timeline',
    '--strategies',
    'sequential,async',
    '--out',
    out,
    '--compare',
    impossiblePath,
  ]);
  t.is(result.code, 1, result.stderr);
  t.regex(result.stdout, /REGRESSED async B\/A: perf2 rate kept under a fib\(30\) loop: 1000 -> /);
  t.regex(result.stdout, /REGRESSED sequential E: scaling, most connections \/ one: 1000 -> /);
  t.regex(result.stdout, /not measured in this run \(1\): cluster B\/A/);

  for (const file of ['results.json', 'results.md', 'chart.svg', 'raw.json']) t.true(existsSync(join(out, file)), file);

  // The table: one row per strategy, in order, both measured.
  const markdown = readFileSync(join(out, 'results.md'), 'utf8');
  const rows = markdown.split('\n').filter((line) => /^\| (sequential|async) \|/.test(line));
  t.deepEqual(
    rows.map((row) => row.split('|')[1]!.trim()),
    ['sequential', 'async'],
  );
  for (const row of rows) {
    const cells = row
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    t.is(cells.length, 12, row);
    t.is(cells.at(-1), 'ok', row);
    t.regex(cells[1]!, /^[\d,]+$/, `A rate in ${row}`);
    t.regex(cells[4]!, /^[\d.]+ \/ [\d.]+$/, `C latency in ${row}`);
    t.regex(cells[7]!, /^[\d,]+ \/ [\d,]+ \/ [\d,]+ \/ [\d,]+$/, `E rates in ${row}`);
    t.regex(cells[10]!, /^\d+ MiB/, `peak PSS in ${row}`);
  }
  t.true(result.stdout.includes(rows[0]!), 'the table is printed too');

  // results.json: the benchmark-action shape, every figure of both strategies.
  const entries = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchmarkEntry[];
  t.true(Array.isArray(entries));
  for (const e of entries) {
    t.is(typeof e.name, 'string');
    t.is(typeof e.unit, 'string');
    t.true(Number.isFinite(e.value) && e.value >= 0, e.name);
  }
  const names = entries.map((e) => e.name);
  for (const strategy of ['sequential', 'async']) {
    t.true(names.includes(`${strategy} A: perf2 rate alone`), strategy);
    t.true(names.includes(`${strategy} B/A: perf2 rate kept under a fib(30) loop`), strategy);
    t.true(names.includes(`${strategy} C/D: perf1 fib(30) p50 alone / with two fib(30) loops`), strategy);
    t.true(names.includes(`${strategy} E: scaling, most connections / one`), strategy);
  }
  t.true(names.includes('async E: speed-up over sequential'));
  t.true(entries.find((e) => e.name === 'async A: perf2 rate alone')!.value > 0);

  // The chart: an SVG drawn by vega, naming both strategies and the scenarios.
  const svg = readFileSync(join(out, 'chart.svg'), 'utf8');
  t.regex(svg, /^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  for (const text of ['sequential', 'async', 'B/A', 'fib(27) answers per second']) t.true(svg.includes(text), text);

  // The gate passes on its own results...
  const own = await run(['--compare', join(out, 'results.json'), '--results', join(out, 'results.json')]);
  t.is(own.code, 0, own.stdout + own.stderr);
  t.regex(own.stdout, /no regression/);

  // ...and fails on a doctored copy, naming every ratio that was raised, and no other figure.
  const doctored = entries.map((e) =>
    isRatio(e) ? { ...e, value: e.value * 2 + 1 } : { ...e, value: e.value * 10 + 1 },
  );
  const doctoredPath = join(dir, 'doctored.json');
  writeFileSync(doctoredPath, JSON.stringify(doctored));
  const gated = await run(['--compare', doctoredPath, '--results', join(out, 'results.json'), '--threshold', '0.2']);
  t.is(gated.code, 1);
  const named = gated.stdout
    .split('\n')
    .filter((l) => l.includes('REGRESSED'))
    .map((l) => /REGRESSED (.+): [\d.]+ -> /.exec(l)![1]);
  t.deepEqual(
    named.sort(),
    entries
      .filter(isRatio)
      .map((e) => e.name)
      .sort(),
  );
});

test('compareEntries: ratios only, threshold and absolute floor, missing figures listed', (t) => {
  const base: BenchmarkEntry[] = [
    { name: 'kept', unit: 'x', value: 0.9 },
    { name: 'lost a quarter', unit: 'x', value: 0.8 },
    { name: 'tiny', unit: 'x', value: 0.004 },
    { name: 'rate', unit: 'req/s', value: 10_000 },
    { name: 'gone', unit: 'x', value: 1 },
  ];
  const now: BenchmarkEntry[] = [
    { name: 'kept', unit: 'x', value: 0.75 },
    { name: 'lost a quarter', unit: 'x', value: 0.6 },
    { name: 'tiny', unit: 'x', value: 0.001 },
    { name: 'rate', unit: 'req/s', value: 10 },
  ];
  const c = compareEntries(base, now, 0.2);
  t.is(c.compared, 3);
  t.deepEqual(
    c.regressions.map((r) => r.name),
    ['lost a quarter'],
  );
  t.is(Math.round(c.regressions[0]!.loss * 100), 25);
  t.deepEqual(c.missing, ['gone']);
  t.deepEqual(compareEntries(base, now, 0.3).regressions, []);
});

test('a bad command line exits 2 with the usage', async (t) => {
  const result = await run(['--scenarios', 'A,Z']);
  t.is(result.code, 2);
  t.regex(result.stderr, /unknown scenario "Z"/);
  t.regex(result.stderr, /Usage: npm run bench/);
  // The lab parses with the same layer as every bin: a misspelt flag gets a suggestion, exit 2.
  const typo = await run(['--strategy', 'async']);
  t.is(typo.code, 2);
  t.is(typo.stderr.split('\n')[0], 'bench: unknown option --strategy (did you mean --strategies?)');
  const duration = await run(['-d', 'soon']);
  t.is(duration.code, 2);
  t.regex(
    duration.stderr,
    /^bench: --duration must be a number of seconds above 0, up to 3600, or a duration such as 500ms/,
  );
  const unknown = await run(['--strategies', 'no-such-strategy']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown strategy no-such-strategy/);
});
