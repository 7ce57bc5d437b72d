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

/** The human summary printed at the end of a run. */
export function formatSummary(tool: string, result: LoadResult): string {
  const { options: o, requests: r, latencyMicros: l } = result;
  const load = o.rate === null ? 'closed loop' : `${o.rate} reqs/sec scheduled`;
  const lines = [
    `${tool}: ${result.target.host}:${result.target.port}, n=${o.n}, ${plural(o.connections, 'connection')}, ` +
      `pipeline ${o.pipeline}, ${load}`,
    `  measured   ${result.seconds.toFixed(2)} s (stopped: ${result.stopReason})`,
    `  requests   ${r.ok} ok, ${r.failed} failed, ${r.unanswered} unanswered at stop`,
  ];
  if (r.failed > 0) lines.push(`  failed     ${failures(r)}`);
  lines.push(`  rate       ${result.rate.mean} reqs/sec mean, ${result.rate.peak} peak`);
  if (l.count > 0) {
    lines.push(
      `  latency    mean ${formatMicros(Math.round(l.mean))}, p50 ${formatMicros(l.p50)}, p90 ${formatMicros(l.p90)}, ` +
        `p99 ${formatMicros(l.p99)}, p99.9 ${formatMicros(l.p999)}, max ${formatMicros(l.max)}`,
    );
  }
  const w = result.warmup;
  if (w.seconds > 0) {
    lines.push(`  warmup     ${w.seconds} s: ${w.ok} ok, ${w.failed} failed${w.failed > 0 ? ` (${failures(w)})` : ''}`);
  }
  const c = result.connections;
  if (c.failed > 0 || c.dropped > 0) {
    lines.push(`  conns      ${c.opened} opened, ${c.failed} failed to open, ${c.dropped} dropped by the server`);
  }
  for (const problem of result.problems) lines.push(`  problem    ${problem}`);
  return lines.join('\n') + '\n';
}
