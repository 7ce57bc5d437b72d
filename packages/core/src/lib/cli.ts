import { readFileSync } from 'node:fs';
import { OptionError, parseArgs, usage } from './options.js';
import type { Reporter } from './events.js';
import { createLogger, logReporter } from './log.js';
import { notifyReady } from './readiness.js';
import { reloader } from './reload.js';
import { serve } from './server.js';
import { ShutdownTimeoutError, type RunningServer, type ServerProgram, type Strategy } from './strategy.js';

/** Exit code for a wrong command line, as most Unix tools use. */
const EXIT_USAGE = 2;

/** A Strategy as a bin runs it. */
export function strategyProgram(strategy: Strategy): ServerProgram {
  return {
    name: strategy.name,
    description: strategy.description,
    hasWorkerPool: strategy.hasWorkerPool,
    ...(strategy.dispatchesToWorkers === true ? { dispatchesToWorkers: true } : {}),
    ...(strategy.defaults ? { defaults: strategy.defaults } : {}),
    start: (options, report) => serve(strategy, options, report),
  };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Runs a server bin: parses argv, prints the ready line (and the metrics
 * URL), tells a process manager it is ready, reloads on SIGHUP, and shuts
 * down gracefully on SIGINT or SIGTERM (exit 0, or 1 when --shutdown-timeout
 * cut work off). Everything it says after parsing goes through the logger of
 * --log-format and --log-level. `packageJsonUrl` is the bin's package.json,
 * for --version.
 */
export async function runCli(
  program: ServerProgram,
  packageJsonUrl: URL,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  const bin = `fib-server-${program.name}`;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(argv, program, process.env);
  } catch (error) {
    if (!(error instanceof OptionError)) throw error;
    process.stderr.write(`${bin}: ${error.message}\n\n${usage(bin, program.description, program)}\n`);
    process.exit(EXIT_USAGE);
  }
  if (parsed.action === 'help') {
    process.stdout.write(`${usage(bin, program.description, program)}\n`);
    return;
  }
  if (parsed.action === 'version') {
    const { version } = JSON.parse(readFileSync(packageJsonUrl, 'utf8')) as { version: string };
    process.stdout.write(`${version}\n`);
    return;
  }
  const { options } = parsed;
  // What the server reports (a worker died, an accept failed) is printed here, and only here.
  const logger = createLogger(options.logFormat, {
    name: bin,
    level: options.logLevel,
    base: { strategy: program.name },
  });
  const report: Reporter = logReporter(logger);
  let server: RunningServer;
  try {
    server = await program.start(options, report);
  } catch (error) {
    const { code, syscall, message, hostname } = error as NodeJS.ErrnoException & { hostname?: string };
    if (syscall === 'listen' || (syscall === 'getaddrinfo' && hostname === options.host)) {
      const reason = code === 'EADDRINUSE' ? 'address already in use' : message;
      logger.error(
        { event: 'listen-failed', code },
        `cannot listen on ${formatHost(options.host)}:${options.port}: ${reason}`,
      );
    } else {
      // Its workers, or what they need (NATS for fib-server-nats), cannot start.
      logger.error({ event: 'start-failed' }, `cannot start: ${message}`);
    }
    process.exit(1);
  }
  const { host, port } = server.address;
  process.stdout.write(`${bin} listening on ${formatHost(host)}:${port}\n`);
  if (server.metricsUrl !== undefined) process.stdout.write(`${bin} metrics on ${server.metricsUrl}\n`);
  notifyReady();

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ event: 'signal', signal }, `${signal} again, exiting now`);
      process.exit(1);
    }
    stopping = true;
    logger.info({ event: 'signal', signal }, `${signal}, shutting down (up to ${options.shutdownTimeout} s)`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ event: 'shutdown-failed' }, (error as Error).message);
        process.exit(error instanceof ShutdownTimeoutError ? 1 : 70);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // SIGHUP (a closing terminal, an operator's reload) never stops the server.
  const reload = server.reload === undefined ? null : reloader(server.reload, report);
  process.on('SIGHUP', () => {
    if (stopping) return;
    if (reload === null) {
      logger.info({ event: 'signal', signal: 'SIGHUP' }, 'SIGHUP: this strategy has nothing to reload; going on');
      return;
    }
    logger.info({ event: 'signal', signal: 'SIGHUP' }, 'SIGHUP: reloading');
    reload.request();
  });
  // A server that stopped by itself (its workers cannot start) has said why through `report`.
  server.done.catch(() => process.exit(1));
}
