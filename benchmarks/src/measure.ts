#!/usr/bin/env node
// npm run measure -- <figures> [options]: the focused measurements behind the
// figures of benchmarks/RESULTS.md and docs/benchmarks.md, one command for
// all of them. Prints one JSON object on stdout; progress goes to stderr.
import { parseArgs } from 'node:util';
import { measurePerf, measureServer } from './lib/measure/baselines.js';
import { measureClusterDesign } from './lib/measure/cluster-design.js';
import { measureConnections } from './lib/measure/connections.js';
import { measureDispatch } from './lib/measure/dispatch.js';
import { measureHop } from './lib/measure/hop.js';
import { measureNats } from './lib/measure/nats.js';
import { measureMetricsCost, measureReload } from './lib/measure/operations.js';
import { measureStrategies, STRATEGY_SETS } from './lib/measure/strategies.js';
import { baselineScript } from './lib/measure/tools.js';

const EXIT_USAGE = 2;
/** Strategies measured with two workers, the machine's two cores. */
const POOLED = new Set(['pool', 'process-pool', 'queue', 'cluster']);
/** The figure for fib-server-nats: a worker SIGKILLed every 0.5 s for 30 s. */
const NATS_CHAOS_SECONDS = 30;

const USAGE = `usage: npm run measure -- <figures> [options]

figures:
  pool         thread and pool against sequential and async: convoy ratio, depth-1 rate and
               main-thread CPU per request, fib(27) x 4 connections, the machine's parallel ceiling
  cluster      cluster and fork against sequential and async (the same, plus 8 connections)
  queue        process-pool and queue against sequential and async (the same)
  cluster-design  the cluster against another build of it (--baseline PATH to its dist/bin.js):
               perf2 x 8, convoy, fib(27) x 4, a light client's latency beside a fib(38) loop
  dispatch     thread, pool, process-pool and queue against async, with and without --inline-max-n:
               pipelined 4 x 64 fib(1), a light client behind 300 queued fib(30), depth-1 rate, the
               hop and its crossover n, convoy ratio (--baseline ROOT: another build's tree too)
  nats         nats (embedded NATS, 2 local workers; and with --storage file) against sequential and
               async: convoy, fib(27) x 4, depth-1 and pipelined 4 x 64 rates, the CPU of the front-end,
               nats-server and workers per request; a worker SIGKILLed every 0.5 s for 30 s; a 3-node
               cluster losing its stream leader under load
  connections  thread and fork: start-up and memory per open connection
  hop          one hop to a worker thread without sockets: raw postMessage, piscina-shaped, piscina
  server       a server against the bare net server (depth 1) and the bare line server (deep)
  metrics      --server (default async) with --metrics-port against itself without: depth-1 rate and
               main-thread CPU per request
  reload       SIGHUP to --server (default queue) under fib-perf2 depth-1 load: the per-second rates
               around it, how long the reload took, failed requests and dropped connections
  perf         fib-perf2 against the C client (depth 1), and at depth against the bare line server

options:
  --rounds N        rounds, alternated between the servers (default: 3; server 7; perf 5; hop 7)
  --seconds S       seconds per sample (default: 1.5; server and perf 2)
  --connections N   connections: opened by 'connections' (default 20), used by 'perf' deep (default 1)
  --trips N         round trips per sample for 'hop' (default 10000)
  --server NAME     'server' and 'perf': a strategy name or a script path (default async; perf: the line server)
  --depth N         'server' and 'perf': requests in flight for the deep figure (default 64)
  --baseline PATH   'cluster-design': the other build's server-cluster dist/bin.js;
                    'dispatch': the other build's root (its packages/server-*/dist/bin.js)
  --inline-max-n N  'dispatch': the --inline-max-n of the +inline rows (default 15)

Build first (npm run build); 'server', 'perf' and 'dispatch' also need the C clients (make -C benchmarks/baselines).
Run it alone on the machine: figures are ratios measured in the same run (docs/benchmarks.md).`;

class UsageError extends Error {}

function positive(name: string, text: string | undefined, fallback: number, integer = true): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value)))
    throw new UsageError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, not ${JSON.stringify(text)}`);
  return value;
}

async function main(argv: readonly string[]): Promise<object | null> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      connections: { type: 'string' },
      trips: { type: 'string' },
      server: { type: 'string' },
      depth: { type: 'string' },
      baseline: { type: 'string' },
      'inline-max-n': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return null;
  }
  if (positionals.length !== 1) throw new UsageError('name exactly one set of figures');
  const figures = positionals[0]!;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  // 'server' and 'perf': the server measured, and how long and deep.
  const baseline = (server: string, rounds: number) => ({
    server,
    rounds: positive('rounds', values.rounds, rounds),
    seconds: positive('seconds', values.seconds, 2, false),
    depth: positive('depth', values.depth, 64),
    log,
  });
  const set = STRATEGY_SETS[figures];
  if (set) {
    return measureStrategies(set, {
      rounds: positive('rounds', values.rounds, 3),
      seconds: positive('seconds', values.seconds, 1.5, false),
    });
  }
  switch (figures) {
    case 'cluster-design':
      if (values.baseline === undefined) throw new UsageError('cluster-design needs --baseline PATH');
      return measureClusterDesign({
        baseline: values.baseline,
        rounds: positive('rounds', values.rounds, 3),
        seconds: positive('seconds', values.seconds, 1.5, false),
      });
    case 'metrics': {
      const strategy = values.server ?? 'async';
      return measureMetricsCost({
        strategy,
        args: POOLED.has(strategy) ? ['--workers', '2'] : [],
        rounds: positive('rounds', values.rounds, 9),
        seconds: positive('seconds', values.seconds, 2, false),
        log,
      });
    }
    case 'reload': {
      const seconds = positive('seconds', values.seconds, 8, false);
      return measureReload({
        strategy: values.server ?? 'queue',
        args: ['--workers', '2'],
        seconds,
        at: Math.floor(seconds / 2),
        log,
      });
    }
    case 'dispatch':
      return measureDispatch({
        rounds: positive('rounds', values.rounds, 3),
        seconds: positive('seconds', values.seconds, 1.5, false),
        inlineMaxN: positive('inline-max-n', values['inline-max-n'], 15),
        baseline: values.baseline,
        log,
      });
    case 'nats':
      return measureNats({
        rounds: positive('rounds', values.rounds, 3),
        seconds: positive('seconds', values.seconds, 1.5, false),
        chaosSeconds: NATS_CHAOS_SECONDS,
        log,
      });
    case 'connections':
      return measureConnections({ connections: positive('connections', values.connections, 20) });
    case 'hop':
      return measureHop({
        rounds: positive('rounds', values.rounds, 7),
        trips: positive('trips', values.trips, 10_000),
      });
    case 'server':
      return measureServer(baseline(values.server ?? 'async', 7));
    case 'perf':
      return measurePerf({
        ...baseline(values.server ?? baselineScript('line-server'), 5),
        connections: positive('connections', values.connections, 1),
      });
    default:
      throw new UsageError(`unknown figures ${JSON.stringify(figures)}`);
  }
}

try {
  const result = await main(process.argv.slice(2));
  if (result) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} catch (error) {
  if (error instanceof UsageError || (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    process.stderr.write(`measure: ${(error as Error).message}\n\n${USAGE}\n`);
    process.exitCode = EXIT_USAGE;
  } else throw error;
}
