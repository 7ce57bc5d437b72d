import { get } from 'node:http';
import type { BinRun } from './spawn.js';

/** The address a bin prints once its metrics endpoint listens. */
const METRICS_LINE = /metrics on (http:\/\/\S+\/metrics)/;

/** The metrics URL from a bin's ready output (started with --metrics-port). */
export async function metricsUrl(run: BinRun): Promise<string> {
  const line = await run.waitFor(METRICS_LINE);
  return METRICS_LINE.exec(line)![1]!;
}

/** GETs a metrics endpoint; rejects on anything but a 200. */
export function scrape(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () =>
        response.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${response.statusCode} ${body}`)),
      );
    }).on('error', reject);
  });
}

/**
 * The value of one series in Prometheus text, e.g.
 * `sample(text, 'fib_requests_total{code="ok"}')`; undefined when absent.
 */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
