import type { Tick } from './options.js';

/** Redraws a second: smooth enough to see time pass, rare enough to cost nothing. */
const REDRAW_MS = 250;
const BAR_WIDTH = 24;

export interface ProgressState {
  /** Seconds measured so far (negative while warming up: seconds until measuring starts). */
  elapsed: number;
  duration: number | null;
  requests: number | null;
  /** Correct answers so far, and the latest per-second rate (null before the first second). */
  done: number;
  rate: number | null;
}

const seconds = (s: number) => (s >= 100 ? `${Math.round(s)} s` : `${s.toFixed(1)} s`);

/** One line: `[#######.....] 3.0 s / 10 s, 7.0 s left, 51,234 reqs/sec`. */
export function formatProgress(state: ProgressState): string {
  const rate = state.rate === null ? '' : `, ${state.rate.toLocaleString('en-US')} reqs/sec`;
  if (state.elapsed < 0) return `warming up, measuring in ${seconds(-state.elapsed)}`;
  let fraction: number | null = null;
  let left: number | null = null;
  let of = '';
  if (state.duration !== null) {
    fraction = state.elapsed / state.duration;
    left = state.duration - state.elapsed;
    of = ` / ${seconds(state.duration)}`;
  }
  if (state.requests !== null) {
    const byCount = state.done / state.requests;
    // Whichever limit comes first ends the run.
    if (fraction === null || byCount > fraction) {
      fraction = byCount;
      left = state.rate ? (state.requests - state.done) / state.rate : null;
      of = `, ${state.done.toLocaleString('en-US')} / ${state.requests.toLocaleString('en-US')} requests`;
    }
  }
  if (fraction === null) return `${seconds(state.elapsed)} measured, Ctrl-C stops${rate}`;
  const clamped = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(clamped * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
  const remaining = left === null ? '' : `, ${seconds(Math.max(0, left))} left`;
  return `${bar} ${seconds(state.elapsed)}${of}${remaining}${rate}`;
}

/**
 * A progress line at the bottom of a terminal: redrawn in place on stderr,
 * cleared while other lines are written. Only for a TTY: on a pipe it is
 * never created, so nothing extra reaches a file.
 */
export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #timer: NodeJS.Timeout;
  readonly #startedAt = performance.now();
  readonly #warmup: number;
  readonly #limits: Pick<ProgressState, 'duration' | 'requests'>;
  #tick: Tick | null = null;
  #tickAt = 0;
  #shown = false;

  constructor(stream: NodeJS.WriteStream, limits: Pick<ProgressState, 'duration' | 'requests'>, warmup: number) {
    this.#stream = stream;
    this.#limits = limits;
    this.#warmup = warmup;
    this.#timer = setInterval(() => this.draw(), REDRAW_MS);
    this.#timer.unref();
  }

  onTick(tick: Tick): void {
    this.#tick = tick;
    this.#tickAt = performance.now();
  }

  /** Erases the line, so that a normal line can be written where it was. */
  clear(): void {
    if (this.#shown) this.#stream.write('\r\x1b[K');
    this.#shown = false;
  }

  draw(): void {
    const now = performance.now();
    const tick = this.#tick;
    // Between ticks, time runs on from the last one; before the first, from the start minus the warmup.
    const elapsed =
      tick === null ? (now - this.#startedAt) / 1000 - this.#warmup : tick.elapsed + (now - this.#tickAt) / 1000;
    const line = formatProgress({
      ...this.#limits,
      elapsed,
      done: tick?.total ?? 0,
      rate: tick?.rate ?? null,
    });
    const width = this.#stream.columns ?? 80;
    this.#stream.write(`\r\x1b[K${line.slice(0, width - 1)}`);
    this.#shown = true;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.clear();
  }
}
