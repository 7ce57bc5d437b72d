import { startServer, type RunningServer, type Strategy } from '@fib/core';
import { splitStartOptions, type NatsStartOptions } from './lib/config.js';
import { createNatsEngine, type NatsConfig } from './lib/engine.js';

/**
 * The work queue across hosts: each request becomes a job on a NATS
 * JetStream work-queue stream; workers (local processes, and
 * `fib-worker-nats` on any host) pull jobs when they have a free slot and
 * answer on the asking front-end's inbox.
 */
export function natsStrategy(config: NatsConfig = {}): Strategy {
  return {
    name: 'nats',
    description:
      'A front-end that puts each request on a NATS JetStream work queue; local worker processes and fib-worker-nats on other hosts pull the jobs.',
    hasWorkerPool: true,
    create: (options, context) => createNatsEngine(options, config, context),
  };
}

/** With an embedded nats-server and `--workers` local workers: what `npx -p @fib/server-nats fib-server-nats` runs. */
export const strategy: Strategy = natsStrategy();

export function start(options?: NatsStartOptions): Promise<RunningServer> {
  const { common, nats } = splitStartOptions(options);
  return startServer(natsStrategy(nats), common);
}

export { NatsServerMissingError, type NatsConfig } from './lib/engine.js';
export type { NatsStartOptions } from './lib/config.js';
export { NatsWorker, type WorkerOptions } from './lib/worker.js';
