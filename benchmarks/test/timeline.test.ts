// The lab's pictures: a --quick run writes timeline.svg next to chart.svg,
// with one strip per strategy, and panel E gets the machine's ceiling.
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = fileURLToPath(new URL('../dist/bench.js', import.meta.url));

test('a --quick run writes timeline.svg: perf2 every 100 ms for 6 s, a fib(30) client from 2 s to 4 s', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fib-timeline-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [bench, '--quick', '--strategies', 'async', '--scenarios', 'A,E', '--out', dir],
      { timeout: 80_000, maxBuffer: 16 * 1024 * 1024 },
      (error, _stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stderr }),
    );
  });
  t.is(code, 0, stderr);
  for (const file of ['chart.svg', 'timeline.svg', 'raw.json']) t.true(existsSync(join(dir, file)), file);

  const svg = readFileSync(join(dir, 'timeline.svg'), 'utf8');
  t.regex(svg, /^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  t.true(svg.includes("The convoy: perf2's fib(1) answers per second, every 100 ms"));
  t.regex(svg, /async: (CONVOY, )?\d+ % of its rate kept while fib\(30\) runs/);

  const raw = JSON.parse(readFileSync(join(dir, 'raw.json'), 'utf8'));
  const timeline = raw.outcomes[0].timeline;
  t.is(timeline.binMs, 100);
  t.is(timeline.rates.length, 60);
  t.deepEqual([timeline.heavyOn, timeline.heavyOff], [2, 4]);
  t.true(
    timeline.rates.slice(0, 20).some((rate: number) => rate > 0),
    'perf2 was answered before the heavy client',
  );
  t.is(timeline.failed, 0);

  // Panel E's reference: the machine's own two-process ceiling, measured in this run.
  const { ceiling } = raw.meta;
  t.true(ceiling.one > 0 && ceiling.two > 0);
  // The ratio is taken before one and two are rounded to whole answers per second.
  t.true(Math.abs(ceiling.ratio - ceiling.two / ceiling.one) < 0.02, JSON.stringify(ceiling));
  t.true(readFileSync(join(dir, 'chart.svg'), 'utf8').includes("this machine's ceiling, two plain node processes"));
});
