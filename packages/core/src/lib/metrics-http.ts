import { createServer, type Server } from 'node:http';
import { once } from 'node:events';

/** What the endpoint serves: the exposition text and its content type. */
export interface MetricsSource {
  readonly contentType: string;
  text(): Promise<string>;
}

export interface MetricsEndpoint {
  /** Where Prometheus scrapes: `http://HOST:PORT/metrics`. */
  readonly url: string;
  readonly address: { readonly host: string; readonly port: number };
  close(): Promise<void>;
}

/** The one path served; anything else is a 404. */
export const METRICS_PATH = '/metrics';

/** `[::1]` for an IPv6 address, as in a URL. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Serves `source` as Prometheus text at GET /metrics on host:port (port 0: a
 * free one). A scrape that fails (a worker that does not answer) is a 500
 * with the reason, never a crash of the server it watches.
 */
export async function serveMetrics(
  source: MetricsSource,
  host: string,
  port: number,
  onError: (error: Error) => void = () => {},
): Promise<MetricsEndpoint> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?', 1)[0];
    if (path !== METRICS_PATH) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; metrics are at ${METRICS_PATH}\n`);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    source.text().then(
      (text) => {
        response.writeHead(200, { 'content-type': source.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: Error) => {
        onError(error);
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${error.message}\n`);
      },
    );
  });
  server.listen({ host, port });
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  server.on('error', onError);
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('the metrics server is not bound to a TCP port');
  const address = Object.freeze({ host: bound.address, port: bound.port });
  // The endpoint must never be what keeps a server's process alive.
  server.unref();
  return {
    url: `http://${urlHost(address.host)}:${address.port}${METRICS_PATH}`,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would hold close() open until it times out.
        server.closeAllConnections();
      }),
  };
}
