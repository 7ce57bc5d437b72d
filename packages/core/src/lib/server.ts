import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { ERROR_LINES } from '@fib/protocol';
import { Connection, connectionLimits, type SharedState } from './connection.js';
import { inlineUpTo } from './dispatch/inline.js';
import { resolveOptions, type ServerOptions, type StartOptions } from './options.js';
import { reason, silent, type Reporter } from './events.js';
import { logReporter, reportingLogger } from './log.js';
import { ServerMetrics } from './metrics.js';
import { type MetricsEndpoint, serveMetrics } from './metrics-http.js';
import { ShutdownTimeoutError, type Engine, type RunningServer, type Strategy } from './strategy.js';

/**
 * The scaffold every strategy runs in: listen, admit connections within
 * --max-connections, frame each one (or hand it to the engine), and shut down
 * gracefully. Options are the library API's; `startServer` validates them.
 */
export async function startServer(strategy: Strategy, options?: StartOptions): Promise<RunningServer> {
  const resolved = resolveOptions(options, strategy);
  return serve(strategy, resolved, reporterFor(options));
}

/** The reporter of a library server: the caller's logger, or silence. Own property only. */
export function reporterFor(options: StartOptions | undefined): Reporter {
  const logger = options !== undefined && Object.hasOwn(options, 'logger') ? options.logger : undefined;
  if (logger === undefined) return silent;
  for (const method of ['debug', 'info', 'warn', 'error', 'isLevelEnabled'] as const) {
    if (typeof logger[method] !== 'function') {
      throw new TypeError(`options.logger must have a ${method}() method, as a pino logger does`);
    }
  }
  return logReporter(logger);
}

export interface ServeExtras {
  /** Count into this registry and serve no endpoint: a cluster worker, whose primary serves its metrics. */
  readonly metrics?: ServerMetrics;
}

/**
 * `startServer` for options already resolved (the CLI), reporting to
 * `report`. With --metrics-port it counts and serves its metrics.
 */
export async function serve(
  strategy: Strategy,
  options: ServerOptions,
  report: Reporter = silent,
  extras: ServeExtras = {},
): Promise<RunningServer> {
  const metrics = extras.metrics ?? (options.metricsPort === null ? null : new ServerMetrics());
  // An engine may fail while the server starts, or any time after.
  let fail: (error: Error) => void = () => {};
  let early: Error | null = null;
  const engine = await strategy.create(options, {
    report,
    fail: (error) => {
      early ??= error;
      fail(error);
    },
    metrics,
  });
  let server: ListeningServer;
  try {
    if (early !== null) throw early;
    server = await listen(engine, options, report, metrics);
  } catch (error) {
    await engine.close();
    throw error;
  }
  fail = server.fail;
  if (early !== null) server.fail(early);
  let endpoint: MetricsEndpoint | null = null;
  if (metrics !== null && options.metricsPort !== null && extras.metrics === undefined) {
    try {
      endpoint = await serveMetrics(metrics, options.host, options.metricsPort, (error) =>
        report({
          level: 'warn',
          event: 'metrics-failed',
          msg: `a metrics scrape failed: ${error.message}`,
          err: error,
        }),
      );
    } catch (error) {
      await server.close().catch(() => {});
      throw new Error(`cannot serve metrics on port ${options.metricsPort}: ${reason(error)}`, { cause: error });
    }
  }
  const close = async () => {
    try {
      await server.close();
    } finally {
      await endpoint?.close();
    }
  };
  const reload = engine.reload?.bind(engine);
  return {
    address: server.address,
    close,
    done: server.done,
    ...(endpoint === null ? {} : { metricsUrl: endpoint.url }),
    ...(reload === undefined ? {} : { reload }),
  };
}

interface ListeningServer extends RunningServer {
  fail(error: Error): void;
}

async function listen(
  engine: Engine,
  options: ServerOptions,
  report: Reporter,
  metrics: ServerMetrics | null,
): Promise<ListeningServer> {
  const limits = connectionLimits(options);
  const shared: SharedState = {
    jobs: 0,
    maxQueue: options.maxQueue,
    draining: false,
    report: (error) =>
      report({ level: 'error', event: 'job-failed', msg: `a compute job failed: ${reason(error)}`, err: error }),
    stats: metrics?.stats ?? null,
    // Built only at debug level: below it, connections skip logging altogether.
    ...(options.logLevel === 'debug' ? { log: reportingLogger(report, 'debug') } : {}),
  };
  /** Every socket we hold: served, waiting its turn, or adopted by the engine. */
  const sockets = new Set<Socket>();
  const served = new Set<Connection>();
  const waiting: Socket[] = [];
  const concurrency = engine.concurrency ?? Infinity;
  let allGone: (() => void) | null = null;
  metrics?.track({ connectionsOpen: () => sockets.size, jobsPending: () => shared.jobs });

  const forget = (socket: Socket) => {
    sockets.delete(socket);
    if (sockets.size === 0) allGone?.();
  };

  const admit = (socket: Socket) => {
    if (engine.adopt !== undefined) {
      let released = false;
      engine.adopt(socket, () => {
        if (!released) {
          released = true;
          forget(socket);
        }
      });
      return;
    }
    const session = options.inlineMaxN > 0 ? inlineUpTo(engine.open(), options.inlineMaxN) : engine.open();
    const connection = new Connection(socket, session, limits, shared);
    served.add(connection);
    socket.once('close', () => {
      served.delete(connection);
      forget(socket);
      // A waiting socket that failed meanwhile is already forgotten: skip it.
      let next = waiting.shift();
      while (next?.destroyed) next = waiting.shift();
      if (next !== undefined) admit(next);
    });
    socket.resume();
  };

  // pauseOnConnect: a socket is read only once it is served, and an adopted one
  // is handed over before a single byte has been read from it.
  const server = createServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
    if (sockets.size >= options.maxConnections || shared.draining) {
      socket.on('error', () => socket.destroy());
      socket.end(shared.draining ? ERROR_LINES.shuttingDown : ERROR_LINES.tooManyConnections);
      return;
    }
    sockets.add(socket);
    if (served.size < concurrency) {
      admit(socket);
    } else {
      // Waits unread until a served connection closes; a waiting client that
      // gives up is only noticed when its turn comes.
      socket.on('error', () => socket.destroy());
      socket.once('close', () => forget(socket));
      waiting.push(socket);
    }
  });
  server.listen({ host: options.host, port: options.port });
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  // Once listening, an error here is a failed accept (EMFILE, ENFILE): the
  // client is gone but the server lives on; say so instead of crashing.
  server.on('error', (error) =>
    report({ level: 'error', event: 'accept-failed', msg: `accept failed: ${error.message}`, err: error }),
  );
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('the server is not bound to a TCP port');
  const address = Object.freeze({ host: bound.address, port: bound.port });

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= shutdown();
    return closing;
  };
  let failure: Error | null = null;
  let settleDone!: (error: Error | null) => void;
  const done = new Promise<void>((resolve, reject) => {
    settleDone = (error) => (error === null ? resolve() : reject(error));
  });
  // Whoever stops the server learns how through close() or done; nobody must be forced to await both.
  done.catch(() => {});
  const fail = (error: Error) => {
    if (failure !== null || closing !== null) return;
    failure = error;
    report({ level: 'error', event: 'server-failed', msg: `${error.message}; shutting down`, err: error });
    close().catch(() => {});
  };

  async function shutdown(): Promise<void> {
    shared.draining = true;
    server.close();
    for (const socket of waiting.splice(0)) {
      socket.end(ERROR_LINES.shuttingDown);
      forget(socket);
    }
    for (const connection of served) connection.drain();
    engine.drain?.();
    const drained =
      sockets.size === 0 ||
      (await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), options.shutdownTimeout * 1000);
        allGone = () => {
          clearTimeout(timer);
          resolve(true);
        };
      }));
    for (const socket of sockets) socket.destroy();
    await engine.close();
    settleDone(failure);
    if (!drained) throw new ShutdownTimeoutError(options.shutdownTimeout);
  }

  return { address, close, done, fail };
}
