import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { Ceiling } from './ceiling.js';
import { findSequential, ratios, type RunMeta, type StrategyOutcome } from './outcome.js';
import { pairBandLayer, pairedColors } from './originals.js';
import { SCALING_N, SLOW_N } from './scenarios.js';
import { formatRatio } from './table.js';

/** Pixels per strategy in the bar panels: room for two bars (C and D) and their labels. */
const ROW_HEIGHT = 34;
const PANEL_WIDTH = 300;
/** Below this share of its rate, perf2 is in the convoy: it gets an answer only between two heavy ones. */
const CONVOY_BELOW = 0.1;
/** Where a B/A of 0 is drawn on the log axis. */
const KEPT_FLOOR = 0.001;

/**
 * The chart as a vega-lite spec: B/A per strategy, C and D median latencies,
 * and E's throughput over connections. Exported for tests and for anyone who
 * wants to open it in the vega editor.
 */
export function chartSpec(outcomes: StrategyOutcome[], meta: RunMeta): vl.TopLevelSpec {
  const measured = outcomes.filter((o) => o.status === 'ok' || Object.keys(o.scenarios).length > 0);
  const order = measured.map((o) => o.name);
  const sequential = findSequential(outcomes);
  const kept = measured.flatMap((o) => {
    const { ba } = ratios(o, sequential);
    if (ba === null) return [];
    const convoy = ba < CONVOY_BELOW;
    return [
      {
        strategy: o.name,
        // A log axis has no 0: a rate of 0 (starved) is drawn at the floor and labelled.
        kept: Math.max(ba, KEPT_FLOOR),
        kind: convoy ? 'convoy' : ba < 1 ? 'slowed' : 'not slowed',
        label: ba === 0 ? '0 (starved): convoy' : convoy ? `${formatRatio(ba)}: convoy` : formatRatio(ba),
      },
    ];
  });
  const C_LABEL = 'C: alone';
  const D_LABEL = `D: with two fib(${SLOW_N}) loops`;
  const latency = measured.flatMap((o) => {
    const rows: { strategy: string; case: string; p50: number | null; labelAt: number; label: string }[] = [];
    for (const [key, label] of [
      ['C', C_LABEL],
      ['D', D_LABEL],
    ] as const) {
      const run = o.scenarios[key]?.run;
      if (run === undefined) continue;
      const p50 = run.latencyMs?.p50 ?? null;
      rows.push({
        strategy: o.name,
        case: label,
        p50,
        labelAt: p50 ?? 0,
        label: p50 === null ? 'starved' : `${p50.toFixed(1)} ms`,
      });
    }
    return rows;
  });
  const scaling = measured.flatMap((o) =>
    (o.scenarios.E?.steps ?? []).map((s) => ({
      strategy: o.name,
      language: o.pairOf === undefined ? 'Node' : 'Python original',
      connections: s.connections,
      rate: s.run.rate,
    })),
  );
  const hasOriginals = measured.some((o) => o.pairOf !== undefined);
  const height = Math.max(ROW_HEIGHT * order.length, 60);
  const strategyAxis = { field: 'strategy', type: 'nominal', sort: order, title: null } as const;
  const strategyColor = {
    field: 'strategy',
    type: 'nominal',
    scale: { domain: order, range: pairedColors(measured) },
    legend: null,
  } as const;

  // A log axis: 0.01 (the convoy, a hundred times slower) is as far from 1 as 100 would be, and the bars above 1 stay small.
  const keptAxis = {
    field: 'kept',
    type: 'quantitative',
    title: 'rate with the heavy client / rate alone (log scale)',
    scale: { type: 'log', domain: [KEPT_FLOOR, Math.max(10, ...kept.map((k) => k.kept))] },
    axis: { values: [0.001, 0.01, 0.1, 1, 10], format: '~g' },
  } as const;
  const keptColor = {
    field: 'kind',
    type: 'nominal',
    scale: { domain: ['convoy', 'slowed', 'not slowed'], range: ['#b2182b', '#f4a582', '#92c5de'] },
    legend: null,
  } as const;
  const panels: vl.TopLevelSpec[] = [];
  if (kept.length > 0) {
    panels.push({
      title: {
        text: 'B/A: perf2 rate kept',
        // Short lines: a title wider than its 300-pixel panel would push the next panel away.
        subtitle: [
          `while another client loops fib(${SLOW_N}).`,
          'Red: the convoy, fast requests wait behind',
          'the heavy one. Right of 1: faster with the',
          'heavy client, as this VM wakes an idle vCPU',
          'slowly (see RESULTS.md): not a merit.',
        ],
      },
      width: PANEL_WIDTH,
      height,
      data: { values: kept },
      layer: [
        ...(hasOriginals ? [pairBandLayer(measured, strategyAxis, PANEL_WIDTH)] : []),
        // Bars start at the floor: a log axis has no 0 for them to start from.
        { mark: 'bar', encoding: { y: strategyAxis, x: keptAxis, x2: { datum: KEPT_FLOOR }, color: keptColor } },
        {
          mark: { type: 'text', align: 'left', dx: 3 },
          encoding: {
            y: strategyAxis,
            x: keptAxis,
            text: { field: 'label' },
            color: { condition: { test: "datum.kind === 'convoy'", value: '#b2182b' }, value: '#333' },
          },
        },
        // 1.00: as fast as alone.
        {
          mark: { type: 'rule', strokeDash: [4, 3], color: '#555' },
          encoding: { x: { datum: 1, type: 'quantitative' } },
        },
      ],
    } as vl.TopLevelSpec);
  }
  if (latency.length > 0) {
    panels.push({
      title: {
        text: `C and D: perf1 fib(${SLOW_N}) median latency`,
        subtitle: 'alone, and with two other heavy clients',
      },
      width: PANEL_WIDTH,
      height,
      data: { values: latency },
      encoding: {
        y: strategyAxis,
        yOffset: { field: 'case', sort: [C_LABEL, D_LABEL] },
        x: { field: 'p50', type: 'quantitative', title: 'p50 (ms)' },
      },
      layer: [
        {
          mark: 'bar',
          encoding: {
            color: {
              field: 'case',
              type: 'nominal',
              sort: [C_LABEL, D_LABEL],
              title: null,
              scale: { range: ['#9ecae9', '#e45756'] },
              legend: { orient: 'bottom', direction: 'vertical', labelLimit: 400 },
            },
          },
        },
        // A starved D has no bar: its label stands at 0.
        {
          mark: { type: 'text', align: 'left', dx: 3, fontSize: 9 },
          encoding: { text: { field: 'label' }, x: { field: 'labelAt', type: 'quantitative' } },
        },
      ],
    } as vl.TopLevelSpec);
  }
  const ceiling = meta.ceiling;
  const top = panels.length > 0 ? [{ hconcat: panels, resolve: { scale: { color: 'independent' } } }] : [];
  const bottom =
    scaling.length === 0
      ? []
      : [
          {
            title: {
              text: `E: fib(${SCALING_N}) answers per second`,
              subtitle: 'over the number of connections (one request in flight each)',
            },
            width: PANEL_WIDTH * 2 + 60,
            height: 240,
            data: { values: scaling },
            mark: { type: 'line', point: true },
            encoding: {
              x: {
                field: 'connections',
                type: 'quantitative',
                scale: { type: 'log', base: 2 },
                axis: { values: [...new Set(scaling.map((s) => s.connections))] },
              },
              y: {
                field: 'rate',
                type: 'quantitative',
                // The originals compute about 13 times slower: on a linear axis their lines lie flat along 0.
                ...(hasOriginals
                  ? { scale: { type: 'log', nice: false }, title: 'answers/s (all connections, log scale)' }
                  : { title: 'answers/s (all connections)' }),
              },
              color: { ...strategyColor, legend: { title: 'strategy' } },
              ...(hasOriginals
                ? {
                    strokeDash: {
                      field: 'language',
                      type: 'nominal',
                      scale: {
                        domain: ['Node', 'Python original'],
                        range: [
                          [1, 0],
                          [5, 3],
                        ],
                      },
                      legend: null, // the title's subtitle says which lines are dashed
                    },
                  }
                : {}),
            },
          },
        ];
  const scalingPanels = ceiling ? bottom.map((panel) => withCeiling(panel, ceiling)) : bottom;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: 'fib-servers: one workload, one server per concurrency strategy',
      subtitle: [
        `${meta.date.slice(0, 10)}, Node ${meta.node}, ${meta.cpus} CPUs, ${meta.duration} s per run${meta.quick ? ' (quick)' : ''}`,
        ...(hasOriginals
          ? [
              'py-*: the Python original, just above its Node port: a pair shares a band in B/A, a hue in E (Python paler, dashed)',
            ]
          : []),
      ],
      anchor: 'start',
    },
    config: { font: 'sans-serif', view: { stroke: null } },
    resolve: { scale: { color: 'independent' } },
    vconcat: [...top, ...scalingPanels],
  } as vl.TopLevelSpec;
}

/**
 * Panel E with the machine's own ceiling drawn across it: what two plain
 * node processes computing fib(27) reach together. No strategy can beat it
 * on this machine; the gap to it is what a strategy costs.
 */
function withCeiling(
  panel: { data: unknown; mark: unknown; encoding: unknown; title?: { text: string; subtitle?: string | string[] } },
  ceiling: Ceiling,
): object {
  const { data, mark, encoding, title, ...rest } = panel;
  // Said under the title, not on the plot: the strategies' curves crowd the line, and a label there would be drawn over them.
  const line = `dashed: this machine's ceiling, two plain node processes: ${Math.round(ceiling.two)}/s (x${ceiling.ratio} of one alone)`;
  const subtitle =
    title?.subtitle === undefined ? [] : Array.isArray(title.subtitle) ? title.subtitle : [title.subtitle];
  return {
    ...rest,
    ...(title ? { title: { ...title, subtitle: [...subtitle, line] } } : {}),
    layer: [
      { data, mark, encoding },
      {
        data: { values: [{ rate: ceiling.two }] },
        mark: { type: 'rule', strokeDash: [6, 4], color: '#333', strokeWidth: 1.5 },
        encoding: { y: { field: 'rate', type: 'quantitative' } },
      },
    ],
  };
}

/** Compiles the vega-lite spec to vega and renders it headless to an SVG string (no canvas needed). */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
