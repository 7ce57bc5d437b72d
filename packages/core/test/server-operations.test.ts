import test from 'ava';
import { inlineSession, jsonLogger, startServer, type Strategy } from '@fib/core';
import { FibClient } from '@fib/protocol';

const scrape = async (url: string) => (await fetch(url)).text();
const sample = (text: string, series: string) =>
  Number(
    text
      .split('\n')
      .find((line) => line.startsWith(`${series} `))
      ?.slice(series.length + 1),
  );

/** The async strategy's shape, without depending on its package. */
const inline: Strategy = {
  name: 'inline',
  description: 'fib on the event loop',
  hasWorkerPool: false,
  create: () => ({ open: () => inlineSession, close: async () => {} }),
};

test('the API: metricsPort serves the counts at metricsUrl; close() closes the endpoint too', async (t) => {
  const server = await startServer(inline, { port: 0, metricsPort: 0 });
  const url = server.metricsUrl!;
  t.regex(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const client = await FibClient.connect({ port: server.address.port });
  t.is(await client.fib(20), 6765);
  await client.close();
  const text = await scrape(url);
  t.is(sample(text, 'fib_requests_total{code="ok"}'), 1);
  t.is(sample(text, 'fib_request_duration_seconds_count'), 1);
  await server.close();
  await t.throwsAsync(scrape(url));
});

test('the API: no metricsPort, no endpoint', async (t) => {
  const server = await startServer(inline, { port: 0 });
  t.is(server.metricsUrl, undefined);
  await server.close();
});

test('the API: a logger passed in gets the records; logLevel debug adds the connection lines', async (t) => {
  const lines: string[] = [];
  const logger = jsonLogger({ name: 'lib', level: 'debug', sink: { write: (l: string) => lines.push(l) } });
  const options = Object.freeze({ port: 0, logLevel: 'debug' as const, logger });
  const server = await startServer(inline, options);
  const client = await FibClient.connect({ port: server.address.port });
  t.is(await client.fib(3), 2);
  await client.close();
  await server.close();
  const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  t.like(
    records.find((r) => r.event === 'connection-closed'),
    { level: 20, requests: 1, errors: 0 },
  );
  t.true(records.some((r) => r.event === 'connection-opened'));
});

test('the API: a logger without the methods of one is a TypeError', async (t) => {
  await t.throwsAsync(startServer(inline, { port: 0, logger: {} as never }), {
    instanceOf: TypeError,
    message: /options\.logger must have a debug\(\) method/,
  });
});
