import type { Histogram } from 'hdr-histogram-js';
import type { LoadResult } from './result.js';

/** 850 us, 12.3 ms, 1.234 s: the unit that keeps 3 or 4 significant digits. */
export function formatMicros(micros: number): string {
  if (micros < 1000) return `${micros} us`;
  if (micros < 1_000_000) return `${(micros / 1000).toPrecision(3)} ms`;
  return `${(micros / 1_000_000).toFixed(3)} s`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** The failed requests by kind: "3 ERR busy, 1 wrong". */
function failures(outcomes: LoadResult['requests'] | LoadResult['warmup']): string {
  const parts: string[] = [];
  for (const [code, count] of Object.entries(outcomes.err)) if (count > 0) parts.push(`${count} ERR ${code}`);
  if (outcomes.wrong > 0) parts.push(`${outcomes.wrong} wrong`);
  if (outcomes.malformed > 0) parts.push(`${outcomes.malformed} malformed`);
  if (outcomes.lost > 0) parts.push(`${outcomes.lost} lost`);
  return parts.join(', ');
}

/** A boxed table, as autocannon draws them: a header row, then the rows, columns padded to fit. */
export function formatTable(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const rule = (left: string, mid: string, right: string) =>
    `${left}${widths.map((w) => '─'.repeat(w + 2)).join(mid)}${right}`;
  const line = (row: readonly string[]) => `│${row.map((cell, i) => ` ${cell.padEnd(widths[i]!)} `).join('│')}│`;
  return [rule('┌', '┬', '┐'), line(rows[0]!), rule('├', '┼', '┤'), ...rows.slice(1).map(line), rule('└', '┴', '┘')];
}

const count = (value: number) => Math.round(value).toLocaleString('en-US');

/** The human summary printed at the end of a run. */
export function formatSummary(tool: string, result: LoadResult): string {
  const { options: o, requests: r, latencyMicros: l } = result;
  const load =
    o.rate === null
      ? 'closed loop'
      : `${o.rate} reqs/sec scheduled${o.arrivals === 'poisson' ? ' (Poisson arrivals)' : ''}`;
  const lines = [
    `${tool}: ${result.target.host}:${result.target.port}, n=${o.n}, ${plural(o.connections, 'connection')}, ` +
      `pipeline ${o.pipeline}, ${load}`,
    `  measured   ${result.seconds.toFixed(2)} s (stopped: ${result.stopReason})`,
    `  requests   ${r.ok} ok, ${r.failed} failed, ${r.unanswered} unanswered at stop`,
  ];
  if (r.failed > 0) lines.push(`  failed     ${failures(r)}`);
  lines.push(`  rate       ${result.rate.mean} reqs/sec mean, ${result.rate.peak} peak`);
  const w = result.warmup;
  if (w.seconds > 0) {
    lines.push(`  warmup     ${w.seconds} s: ${w.ok} ok, ${w.failed} failed${w.failed > 0 ? ` (${failures(w)})` : ''}`);
  }
  const c = result.connections;
  if (c.failed > 0 || c.dropped > 0) {
    lines.push(`  conns      ${c.opened} opened, ${c.failed} failed to open, ${c.dropped} dropped by the server`);
  }
  for (const problem of result.problems) lines.push(`  problem    ${problem}`);
  if (l.count > 0) {
    lines.push(
      ...formatTable([
        ['Latency', '2.5%', '50%', '97.5%', '99%', '99.9%', 'Max', 'Mean', 'Stdev'],
        [
          '',
          ...[l.p2_5, l.p50, l.p97_5, l.p99, l.p999, l.max, Math.round(l.mean), Math.round(l.stdev)].map(formatMicros),
        ],
      ]),
    );
  }
  const s = result.rate.stats;
  if (s !== null) {
    lines.push(
      ...formatTable([
        ['Req/Sec', 'Min', '2.5%', '50%', 'Mean', 'Stdev', 'Max'],
        ['', ...[s.min, s.p2_5, s.p50, s.mean, s.stdev, s.max].map(count)],
      ]),
    );
    lines.push(`  ${plural(result.rate.perSecond.length, 'full second')} sampled; the minimum shows a stall`);
  }
  return lines.join('\n') + '\n';
}

/** wrk2's percentiles in its `--latency` output. */
const WRK_PERCENTILES = [50, 75, 90, 99, 99.9, 99.99, 99.999, 100];

/** `--latency`: the distribution wrk2 prints, then HdrHistogram's full percentile spectrum in milliseconds. */
export function formatSpectrum(histogram: Histogram): string {
  if (histogram.totalCount === 0) return '  Latency Distribution: no answer measured\n';
  const lines = ['  Latency Distribution (HdrHistogram - Recorded Latency)'];
  for (const p of WRK_PERCENTILES) {
    lines.push(`${p.toFixed(3).padStart(8)}% ${formatMicros(histogram.getValueAtPercentile(p)).padStart(10)}`);
  }
  lines.push('', '  Detailed Percentile spectrum (milliseconds):');
  // The format HdrHistogram's plotter reads; values in us, printed in ms.
  lines.push(histogram.outputPercentileDistribution(5, 1000));
  return lines.join('\n') + '\n';
}
