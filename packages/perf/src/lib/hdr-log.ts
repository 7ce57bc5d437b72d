import { closeSync, openSync, writeSync } from 'node:fs';
import { HistogramLogWriter } from 'hdr-histogram-js';
import type { LatencyInterval } from './options.js';

/**
 * `--hdr-log FILE`: the latency of every interval as an HdrHistogram interval
 * log (format 1.3), the one HistogramLogProcessor, HistogramLogAnalyzer and
 * hdr-histogram-js's HistogramLogReader read, so runs can be merged and
 * plotted. Values are microseconds: give HistogramLogProcessor
 * `-outputValueUnitRatio 1000` for milliseconds. Written as the run goes,
 * one line per second, so an interrupted run still leaves its log.
 */
export class HdrLogFile {
  readonly #fd: number;
  readonly #writer: HistogramLogWriter;
  #startMs: number | null = null;

  constructor(path: string, tool: string) {
    this.#fd = openSync(path, 'w');
    this.#writer = new HistogramLogWriter((text) => writeSync(this.#fd, text));
    this.#writer.outputComment(`[Logged with ${tool}; values in microseconds]`);
    this.#writer.outputLogFormatVersion();
  }

  interval({ startMs, endMs, histogram }: LatencyInterval): void {
    if (this.#startMs === null) {
      this.#startMs = startMs;
      this.#writer.outputComment(
        `[StartTime: ${(startMs / 1000).toFixed(3)} (seconds since epoch), ${new Date(startMs).toISOString()}]`,
      );
      this.#writer.outputComment(`[BaseTime: ${(startMs / 1000).toFixed(3)} (seconds since epoch)]`);
      this.#writer.outputLegend();
    }
    // Interval times relative to the start, the max in milliseconds, as the Java writer logs them.
    const base = this.#startMs;
    this.#writer.outputIntervalHistogram(histogram, (startMs - base) / 1000, (endMs - base) / 1000, 1000);
  }

  close(): void {
    closeSync(this.#fd);
  }
}
