import { isSequential, ratios, sequentialFor, type RunMeta, type StrategyOutcome } from './outcome.js';
import { PYTHON_HEAVY_WINDOW } from './originals.js';
import { FAST_N, SCALING_CONNECTIONS, SCALING_N, SLOW_N } from './scenarios.js';

const MIB = 1024 * 1024;
const dash = '–';

export function formatRate(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Two decimals, or two significant digits for the small ratios of a collapsed rate. */
export function formatRatio(value: number | null): string {
  if (value === null) return dash;
  if (value === Infinity) return 'starved';
  if (value !== 0 && Math.abs(value) < 0.1) return value.toPrecision(2);
  return value.toFixed(2);
}

function ms(value: number | undefined): string {
  if (value === undefined) return dash;
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function latency(run: { latencyMs: { p50: number; p99: number } | null; seconds: number } | undefined): string {
  if (run === undefined) return dash;
  if (run.latencyMs === null) return `no answer in ${run.seconds} s`;
  return `${ms(run.latencyMs.p50)} / ${ms(run.latencyMs.p99)}`;
}

/** The results table in Markdown: one row per strategy, then a legend and what went wrong. */
export function markdownTable(outcomes: StrategyOutcome[]): string {
  const header = [
    'strategy',
    'A req/s',
    'B req/s',
    'B/A',
    'C p50 / p99 ms',
    'D p50 / p99 ms',
    'D/C',
    `E fib(${SCALING_N})/s at ${SCALING_CONNECTIONS.join(' / ')} conn.`,
    'E scaling',
    'E × seq.',
    'peak PSS',
    'status',
  ];
  const align = ['---', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '---'];
  const rows = outcomes.map((o) => {
    const r = ratios(o, sequentialFor(o, outcomes));
    const { A, B, C, D, E } = o.scenarios;
    const memory =
      o.peakPssBytes === null
        ? dash
        : `${Math.round(o.peakPssBytes / MIB)} MiB` + (o.peakProcesses > 1 ? ` (${o.peakProcesses} proc.)` : '');
    return [
      o.name,
      A ? formatRate(A.run.rate) : dash,
      B ? formatRate(B.run.rate) : dash,
      formatRatio(r.ba),
      latency(C?.run),
      latency(D?.run),
      formatRatio(r.dc),
      E ? E.steps.map((s) => formatRate(s.run.rate)).join(' / ') : dash,
      formatRatio(r.eScaling),
      isSequential(o) && E ? '1.00' : formatRatio(r.eVsSequential),
      memory,
      o.status === 'ok' ? (o.notes.length > 0 ? 'ok *' : 'ok') : '**failed** *',
    ];
  });
  const lines = [header, align, ...rows].map((cells) => `| ${cells.map(escapeCell).join(' | ')} |`);
  return lines.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function legend(): string {
  return [
    `- **A**: perf2 (fib(${FAST_N}) in a loop on one connection) alone; **B**: the same while another client loops fib(${SLOW_N}).`,
    '  **B/A** is the share of the rate that survives the heavy client (1.00: untouched; near 0: the convoy).',
    `- **C**: perf1 (fib(${SLOW_N}) in a loop on one connection) alone; **D**: the same while two other clients loop fib(${SLOW_N}).`,
    '  **D/C** is how many times slower the median answer got (1.00: as fast as alone; "starved": no answer at all).',
    `- **E**: answers per second of fib(${SCALING_N}) with ${SCALING_CONNECTIONS.join(', ')} connections, each with one request in flight.`,
    '  B, D and E warm up longer, so that the strategies that start a worker per connection have started theirs: they measure sharing, not start-up.',
    `  **E scaling**: throughput at ${SCALING_CONNECTIONS.at(-1)} connections / at 1; **E × seq.**: at ${SCALING_CONNECTIONS.at(-1)} connections / sequential's.`,
    '- Rates and latencies are medians over the rounds; each ratio is the median of the ratios measured within one round.',
    '- **peak PSS**: the most memory the server and all its worker processes held at once, summed from /proc every 200 ms.',
    "  PSS (proportional set size) splits a page shared by n processes (mostly the node binary's) into n shares, so the sum counts it once.",
  ].join('\n');
}

/** What the py-* rows are, for a table that has some. */
export function originalsLegend(heavyWindow: number): string {
  return [
    '- **py-\\***: the Python originals (`benchmarks/baselines/python/`), each just above its Node port, run with the same',
    `  clients at depth 1 (one recv is one request for them). Same requests, fib(${SLOW_N}) and fib(${SCALING_N}), but Python computes them`,
    `  about 13 times slower, so their C and D measure ${heavyWindow} times as long, for enough answers to take a median.`,
    '  Their E × seq. divides by py-sequential.',
  ].join('\n');
}

export function notes(outcomes: StrategyOutcome[], meta?: RunMeta): string {
  const lines: string[] = (meta?.notes ?? []).map((note) => `- ${note}`);
  for (const o of outcomes) {
    if (o.error !== null) lines.push(`- \\* ${o.name} **failed**: ${o.error}`);
    for (const note of o.notes) lines.push(`- \\* ${o.name}: ${note}`);
  }
  return lines.join('\n');
}

export function metaLine(meta: RunMeta): string {
  return (
    `${meta.date.slice(0, 10)}, Node ${meta.node}, ${meta.platform}, ${meta.cpus} × ${meta.cpuModel}; ` +
    `${meta.quick ? 'quick run, ' : ''}${meta.rounds} round${meta.rounds === 1 ? '' : 's'} of ` +
    `${meta.duration} s measured per run after ${meta.warmup} s of warmup (${meta.startupWarmup} s for B, D and E); ` +
    `scenarios ${meta.scenarios.join(', ')}; load average ${meta.loadAverage.start}` +
    (meta.loadAverage.end === null ? '.' : ` at the start, ${meta.loadAverage.end} at the end.`)
  );
}

/** results.md: the table with what is needed to read it. */
export function resultsMarkdown(outcomes: StrategyOutcome[], meta: RunMeta): string {
  const parts = ['# fib-servers benchmark', '', metaLine(meta), '', markdownTable(outcomes), '', legend()];
  if (outcomes.some((o) => o.pairOf !== undefined)) parts.push(originalsLegend(PYTHON_HEAVY_WINDOW));
  const extra = notes(outcomes, meta);
  if (extra !== '') parts.push('', extra);
  return parts.join('\n') + '\n';
}
