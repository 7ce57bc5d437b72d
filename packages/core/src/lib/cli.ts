import { readFileSync } from 'node:fs';
import { OptionError, parseArgs, usage } from './options.js';
import type { Reporter } from './events.js';
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
    ...(strategy.defaults ? { defaults: strategy.defaults } : {}),
    start: (options, report) => serve(strategy, options, report),
  };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Runs a server bin: parses argv, prints the ready line, and shuts down
 * gracefully on SIGINT or SIGTERM (exit 0, or 1 when --shutdown-timeout cut
 * work off). `packageJsonUrl` is the bin's package.json, for --version.
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
  const report: Reporter = (event) => {
    if (event.level !== 'debug') process.stderr.write(`${bin}: ${event.msg}\n`);
  };
  let server: RunningServer;
  try {
    server = await program.start(options, report);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'address already in use' : (error as Error).message;
    process.stderr.write(`${bin}: cannot listen on ${formatHost(options.host)}:${options.port}: ${reason}\n`);
    process.exit(1);
  }
  const { host, port } = server.address;
  process.stdout.write(`${bin} listening on ${formatHost(host)}:${port}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${bin}: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`${bin}: ${signal}, shutting down (up to ${options.shutdownTimeout} s)\n`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${bin}: ${(error as Error).message}\n`);
        process.exit(error instanceof ShutdownTimeoutError ? 1 : 70);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // A server that stopped by itself (its workers cannot start) has said why through `report`.
  server.done.catch(() => process.exit(1));
}
