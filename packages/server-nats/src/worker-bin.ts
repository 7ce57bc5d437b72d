#!/usr/bin/env node
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import {
  EXIT_USAGE,
  OptionError,
  formatOptions,
  formatUsageError,
  parseCommandLine,
  type OptionTable,
} from '@fib/core/cli';
import { checkQueue, parseNatsUrls } from './lib/config.js';
import { NatsWorker } from './lib/worker.js';

const BIN = 'fib-worker-nats';
const TABLE: OptionTable = {
  nats: {
    flag: '--nats',
    kind: 'string',
    arg: 'URL[,URL...]',
    help: "NATS server(s) the front-ends use, one or a cluster's (required)",
  },
  queue: {
    flag: '--queue',
    kind: 'string',
    arg: 'NAME',
    help: "the work queue to pull from: the front-ends' --queue",
    defaultText: 'default',
  },
  concurrency: {
    flag: '--concurrency',
    kind: 'integer',
    min: 1,
    max: 1024,
    help: 'jobs computed at once (fib above 30 runs on a compute thread of its slot)',
    defaultText: 'cores',
  },
};
const USAGE = [
  `Usage: ${BIN} --nats URL[,URL...] [options]`,
  '',
  'A fib worker for fib-server-nats front-ends on any host: it pulls jobs from the NATS JetStream',
  'work queue only when it has a free slot, computes them and answers the front-end that asked.',
  '',
  'Options:',
  ...formatOptions(TABLE),
  '',
  'Environment: FIB_NATS, FIB_QUEUE, FIB_CONCURRENCY (a flag wins). SIGTERM or SIGINT: finish the jobs in hand, then exit 0.',
].join('\n');

let parsed: ReturnType<typeof parseCommandLine>;
try {
  parsed = parseCommandLine(process.argv.slice(2), TABLE, { env: { vars: process.env, prefix: 'FIB_' } });
  if (parsed.action === 'run' && !parsed.values.has('nats')) throw new OptionError('--nats is required');
} catch (error) {
  if (!(error instanceof OptionError) && !(error instanceof TypeError)) throw error;
  process.stderr.write(formatUsageError(BIN, error, USAGE));
  process.exit(EXIT_USAGE);
}
if (parsed.action === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (parsed.action === 'version') {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  process.stdout.write(`${version}\n`);
  process.exit(0);
}
let servers: string[];
let queue: string | undefined;
try {
  servers = parseNatsUrls(parsed.values.get('nats') as string, parsed.sources.get('nats') ?? '--nats');
  if (parsed.values.has('queue')) {
    const label = parsed.sources.get('queue') ?? '--queue';
    queue = checkQueue(parsed.values.get('queue'), label);
    if (queue === 'private') throw new OptionError(`${label}: a private queue belongs to its front-end's own workers`);
  }
} catch (error) {
  process.stderr.write(formatUsageError(BIN, error as Error, USAGE));
  process.exit(EXIT_USAGE);
}
const concurrency = (parsed.values.get('concurrency') as number | undefined) ?? availableParallelism();
const log = (line: string) => process.stderr.write(`${BIN}: ${line}\n`);
const worker = await NatsWorker.start({ servers, concurrency, waitForServer: true, log, ...(queue ? { queue } : {}) });
worker.on('log', log);
worker.on('fatal', (error) => {
  process.stderr.write(`${BIN}: ${error.message}; exiting (JetStream gives its jobs to other workers)\n`);
  process.exit(1);
});
process.stdout.write(`${BIN} pulling jobs with ${concurrency} slot(s) from NATS at ${worker.server}\n`);

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) {
    process.stderr.write(`${BIN}: ${signal} again, exiting now\n`);
    process.exit(1);
  }
  stopping = true;
  process.stderr.write(`${BIN}: ${signal}, finishing the jobs in hand\n`);
  void worker.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
