import { OptionError } from '@fib/core';
import { formatOptions, type OptionTable } from '@fib/core/cli';
import { checkQueue, checkReplicas, checkStorage, parseNatsUrls } from './config.js';
import type { NatsConfig } from './engine.js';

/** The flags fib-server-nats adds to the common ones, for its --help (the same layout as theirs). */
const NATS_TABLE: OptionTable = {
  nats: {
    flag: '--nats',
    kind: 'string',
    arg: 'URL[,URL...]',
    help: "NATS server(s), one or a cluster's; without it, nats-server from PATH is started on a free loopback port, and stopped on exit",
  },
  replicas: {
    flag: '--replicas',
    kind: 'integer',
    help: 'stream replicas when this front-end creates the stream (3 on a three-node cluster)',
    defaultText: '1',
  },
  storage: {
    flag: '--storage',
    kind: 'string',
    arg: 'memory|file',
    help: "where the stream keeps jobs when this front-end creates it; front-ends hold every job until it is answered, so 'file' saves no request",
    defaultText: 'memory',
  },
  queue: {
    flag: '--queue',
    kind: 'string',
    arg: 'NAME',
    help: 'the work queue, so that deployments can share one NATS; "private": one for its local workers only',
    defaultText: 'default',
  },
  workers: { flag: '--workers', kind: 'integer', arg: '0', help: 'a front-end only: fib-worker-nats hosts compute' },
};
const BUILT_IN_LINES = 2; // formatOptions ends with -h and -v, which the common table prints

export const NATS_FLAGS_HELP = [
  'NATS options (also FIB_NATS, FIB_REPLICAS, FIB_STORAGE, FIB_QUEUE):',
  ...formatOptions(NATS_TABLE).slice(0, -BUILT_IN_LINES),
].join('\n');

const OURS = ['--nats', '--replicas', '--storage', '--queue'] as const;
/** The common table's own bound for --workers. */
const MAX_WORKERS = 1024;

/**
 * Takes fib-server-nats's own flags out of argv (the rest goes to @fib/core's
 * parser, which knows only the common ones), with FIB_NATS and FIB_REPLICAS
 * for what no flag gives. `--workers 0` (and FIB_WORKERS=0) is taken out
 * too: the common table starts at 1. Throws OptionError like the common parser.
 */
export function extractNatsArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { rest: string[]; config: NatsConfig; consumedVariables: string[] } {
  const rest: string[] = [];
  const given = new Map<string, string>();
  let workersZero = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const isOurs = (OURS as readonly string[]).includes(flag);
    if (!isOurs && flag !== '--workers') {
      rest.push(arg);
      continue;
    }
    const value = eq === -1 ? argv[i + 1] : arg.slice(eq + 1);
    if (value === undefined || (eq === -1 && value.startsWith('--'))) {
      if (isOurs) throw new OptionError(`${flag} needs a value`);
      rest.push(arg);
      continue;
    }
    if (flag === '--workers') {
      const count = /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
      if (!(count >= 0 && count <= MAX_WORKERS)) {
        const got = Number.isNaN(count) ? JSON.stringify(value) : String(count);
        throw new OptionError(`--workers must be an integer from 0 to ${MAX_WORKERS} (got ${got})`);
      }
      if (count > 0) {
        // The common parser takes it from here.
        rest.push(arg);
        continue;
      }
      if (workersZero || argv.some((other, j) => j !== i && /^--workers(=|$)/.test(other))) {
        throw new OptionError('--workers given twice');
      }
      workersZero = true;
    } else {
      if (given.has(flag)) throw new OptionError(`${flag} given twice`);
      given.set(flag, value);
    }
    if (eq === -1) i++;
  }
  const config: { -readonly [K in keyof NatsConfig]: NatsConfig[K] } = {};
  const nats = given.get('--nats') ?? nonEmpty(env.FIB_NATS);
  if (nats !== undefined) config.nats = parseNatsUrls(nats, given.has('--nats') ? '--nats' : 'FIB_NATS');
  const replicas = given.get('--replicas') ?? nonEmpty(env.FIB_REPLICAS);
  if (replicas !== undefined) {
    const label = given.has('--replicas') ? '--replicas' : 'FIB_REPLICAS';
    config.replicas = checkReplicas(/^\s*\d+\s*$/.test(replicas) ? Number(replicas) : replicas, label);
  }
  const storage = given.get('--storage') ?? nonEmpty(env.FIB_STORAGE);
  if (storage !== undefined) {
    config.storage = checkStorage(storage.trim(), given.has('--storage') ? '--storage' : 'FIB_STORAGE');
  }
  const queue = given.get('--queue') ?? nonEmpty(env.FIB_QUEUE);
  if (queue !== undefined) config.queue = checkQueue(queue.trim(), given.has('--queue') ? '--queue' : 'FIB_QUEUE');
  const consumedVariables: string[] = [];
  const envWorkersZero = !argv.some((arg) => /^--workers(=|$)/.test(arg)) && env.FIB_WORKERS?.trim() === '0';
  if (workersZero || envWorkersZero) {
    config.localWorkers = 0;
    // The common parser would refuse FIB_WORKERS=0: it has been read here.
    if (envWorkersZero) consumedVariables.push('FIB_WORKERS');
  }
  return { rest, config, consumedVariables };
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text.trim() === '' ? undefined : text;
}
