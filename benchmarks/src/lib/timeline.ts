// The convoy as a picture: perf2's rate every 100 ms for about 6 s, with a
// fib(30) client switched on at 2 s and off at 4 s. Where the rate falls
// while the heavy client runs, the server made the fast client wait behind it.
import { runLoad } from '@fib/perf';
import type * as vl from 'vega-lite';
import { FAST_N, SLOW_N } from './scenarios.js';

/** Width of one point of the curve: ten per second, fine enough to see a stall start and end. */
export const BIN_MS = 100;
/** The heavy client runs from 2 s to 4 s: two quiet seconds on each side to compare with. */
export const HEAVY_ON_S = 2;
export const HEAVY_OFF_S = 4;
export const TIMELINE_S = 6;
/** Load before the clock starts, so that JIT compilation and a per-connection worker's start-up stay out of the picture. */
const TIMELINE_WARMUP_S = 0.5;

export interface Timeline {
  binMs: number;
  heavyOn: number;
  heavyOff: number;
  /** perf2's answers per second in each bin, from 0 to TIMELINE_S. */
  rates: number[];
  /** fib(30) answers the heavy client got while it ran. */
  heavyAnswers: number;
  /** Failed requests of either client (they would make the curve lie). */
  failed: number;
}

export interface TimelineContext {
  host: string;
  port: number;
  signal: AbortSignal;
}

/** Runs the timeline against a started server; resolves when both clients are done. */
export async function runTimeline(ctx: TimelineContext): Promise<Timeline> {
  const bins = new Float64Array(Math.round((TIMELINE_S * 1000) / BIN_MS));
  // Measuring starts after the warmup: the clock of the bins starts there too.
  const t0 = performance.now() + TIMELINE_WARMUP_S * 1000;
  const fast = runLoad({
    host: ctx.host,
    port: ctx.port,
    n: FAST_N,
    warmup: TIMELINE_WARMUP_S,
    duration: TIMELINE_S,
    signal: ctx.signal,
    onAnswer: () => {
      const bin = Math.floor((performance.now() - t0) / BIN_MS);
      if (bin >= 0 && bin < bins.length) bins[bin]!++;
    },
  });
  const stopHeavy = new AbortController();
  const forward = () => stopHeavy.abort();
  ctx.signal.addEventListener('abort', forward, { once: true });
  const heavy = new Promise<Awaited<ReturnType<typeof runLoad>> | null>((resolve, reject) => {
    let started = false;
    const start = setTimeout(
      () => {
        started = true;
        runLoad({ host: ctx.host, port: ctx.port, n: SLOW_N, signal: stopHeavy.signal }).then(resolve, reject);
      },
      t0 + HEAVY_ON_S * 1000 - performance.now(),
    );
    // Interrupted before it started: there is nothing to wait for. (A listener on the local
    // signal, not on the run's, which every strategy's timeline would otherwise add to.)
    stopHeavy.signal.addEventListener(
      'abort',
      () => {
        if (started) return;
        clearTimeout(start);
        resolve(null);
      },
      { once: true },
    );
  });
  const stop = setTimeout(() => stopHeavy.abort(), t0 + HEAVY_OFF_S * 1000 - performance.now());
  try {
    const [fastResult, heavyResult] = await Promise.all([fast, heavy]);
    return {
      binMs: BIN_MS,
      heavyOn: HEAVY_ON_S,
      heavyOff: HEAVY_OFF_S,
      rates: [...bins].map((count) => (count * 1000) / BIN_MS),
      heavyAnswers: heavyResult?.requests.ok ?? 0,
      failed: fastResult.requests.failed + (heavyResult?.requests.failed ?? 0),
    };
  } finally {
    clearTimeout(stop);
    stopHeavy.abort();
    ctx.signal.removeEventListener('abort', forward);
  }
}

/** Below this share of its quiet rate, the fast client is in the convoy (as in the chart's B/A panel). */
const CONVOY_BELOW = 0.1;
/** Height of one strategy's strip: enough for a curve to show its drop, small enough for ten on a page. */
const STRIP_HEIGHT = 56;
const STRIP_WIDTH = 560;

/**
 * Small multiples, one strip per strategy, on one shared rate axis and one
 * time axis: the grey band is when the fib(30) client ran.
 */
export function timelineSpec(rows: { name: string; timeline: Timeline }[], subtitle: string): vl.TopLevelSpec {
  const top = Math.max(1, ...rows.flatMap((r) => r.timeline.rates));
  const strips = rows.map(({ name, timeline }, i) => {
    const points = timeline.rates.map((rate, bin) => ({ t: ((bin + 0.5) * timeline.binMs) / 1000, rate }));
    const quiet = points.filter((p) => p.t < timeline.heavyOn || p.t > timeline.heavyOff + 0.5);
    const during = points.filter((p) => p.t > timeline.heavyOn + 0.2 && p.t < timeline.heavyOff);
    const mean = (xs: { rate: number }[]) => xs.reduce((a, p) => a + p.rate, 0) / Math.max(1, xs.length);
    const kept = mean(quiet) > 0 ? mean(during) / mean(quiet) : 0;
    const last = i === rows.length - 1;
    return {
      title: {
        text:
          `${name}: ${kept < CONVOY_BELOW ? 'CONVOY, ' : ''}${Math.round(kept * 100)} % of its rate kept while fib(${SLOW_N}) runs` +
          ` (the fib(${SLOW_N}) client got ${timeline.heavyAnswers} answer${timeline.heavyAnswers === 1 ? '' : 's'})`,
        fontSize: 11,
        anchor: 'start',
        color: kept < CONVOY_BELOW ? '#b2182b' : '#333',
      },
      width: STRIP_WIDTH,
      height: STRIP_HEIGHT,
      layer: [
        {
          data: { values: [{ on: timeline.heavyOn, off: timeline.heavyOff }] },
          mark: { type: 'rect', color: '#e8e8e8' },
          encoding: {
            x: { field: 'on', type: 'quantitative', scale: { domain: [0, TIMELINE_S] } },
            x2: { field: 'off' },
          },
        },
        {
          data: { values: points },
          mark: {
            type: 'area',
            line: { color: kept < CONVOY_BELOW ? '#b2182b' : '#2166ac' },
            color: kept < CONVOY_BELOW ? '#f4a582' : '#92c5de',
            interpolate: 'step',
          },
          encoding: {
            x: {
              field: 't',
              type: 'quantitative',
              scale: { domain: [0, TIMELINE_S] },
              axis: last
                ? { title: 'seconds (grey: a fib(30) client is on)', values: [0, 1, 2, 3, 4, 5, 6] }
                : { labels: false, title: null, ticks: false },
            },
            y: {
              field: 'rate',
              type: 'quantitative',
              scale: { domain: [0, top] },
              axis: { title: null, tickCount: 2, format: '~s' },
            },
          },
        },
      ],
    };
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: `The convoy: perf2's fib(${FAST_N}) answers per second, every ${BIN_MS} ms`,
      subtitle: [
        `a client looping fib(${SLOW_N}) runs from ${HEAVY_ON_S} s to ${HEAVY_OFF_S} s; one rate axis for all strategies`,
        subtitle,
      ],
      anchor: 'start',
    },
    config: { font: 'sans-serif', view: { stroke: null } },
    spacing: 6,
    vconcat: strips,
  } as vl.TopLevelSpec;
}
