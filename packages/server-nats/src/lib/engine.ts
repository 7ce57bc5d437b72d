import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  Supervisor,
  processHandle,
  reason,
  trackSupervisor,
  type ComputeEngine,
  type ServerContext,
  type ServerOptions,
} from '@fib/core';
import { workerFaultPlan } from '@fib/core/testing';
import { startEmbeddedNats, type EmbeddedNats } from './embedded.js';
import { FrontEnd } from './front-end.js';
import { INSTALL_HINT, findNatsServer } from './nats-binary.js';
import type { Storage } from './queue.js';
import { queueNames } from './wire.js';

/** esbuild bundles this module into dist/, beside the local worker's entry. */
const WORKER_ENTRY = new URL('./worker.js', import.meta.url);
/** A JetStream stream cannot have more replicas than this (NATS's own limit). */
export const MAX_REPLICAS = 5;

/** What fib-server-nats adds to the common options. */
export interface NatsConfig {
  /** NATS URLs (one server or a cluster's); none: start nats-server from PATH. */
  readonly nats?: readonly string[];
  /** Local worker processes; 0 runs a front-end only. Default: --workers. */
  readonly localWorkers?: number;
  /** Replicas of the stream, when this front-end is the one that creates it (default 1). */
  readonly replicas?: number;
  /** Where the stream keeps its jobs, when this front-end creates it (default 'memory'; see StreamSettings). */
  readonly storage?: Storage;
  /**
   * The queue's name (default: the default queue), so that several
   * deployments can share one NATS; PRIVATE_QUEUE: a queue of this
   * front-end's own, for its local workers only, removed when it stops.
   */
  readonly queue?: string;
}

/** The `--queue` value that asks for a queue of the front-end's own. */
export const PRIVATE_QUEUE = 'private';

/** nats-server is needed (no --nats) but not installed. */
export class NatsServerMissingError extends Error {
  constructor() {
    super(INSTALL_HINT);
    this.name = 'NatsServerMissingError';
  }
}

/**
 * The front-end, with what it may bring along: an embedded nats-server
 * (without --nats) and local worker processes (--workers), both stopped with it.
 */
export async function createNatsEngine(
  options: ServerOptions,
  config: NatsConfig,
  context: ServerContext,
): Promise<ComputeEngine> {
  const { report } = context;
  const log = (msg: string) => report({ level: 'warn', event: 'nats', msg });
  let embedded: EmbeddedNats | null = null;
  let servers = config.nats ?? [];
  if (servers.length === 0) {
    const binary = findNatsServer();
    if (binary === null) throw new NatsServerMissingError();
    embedded = await startEmbeddedNats(binary, log, (error) => context.fail(error));
    servers = [embedded.url];
  }
  const localWorkers = config.localWorkers ?? options.workers;
  let frontEnd: FrontEnd | null = null;
  let supervisor: Supervisor | null = null;
  const closeAll = async () => {
    await frontEnd?.close();
    await supervisor?.stop();
    await embedded?.close();
  };
  try {
    const isPrivate = config.queue === PRIVATE_QUEUE;
    const queue = queueNames(isPrivate ? `private-${randomBytes(6).toString('hex')}` : config.queue);
    frontEnd = await FrontEnd.start(
      {
        servers,
        queue,
        privateQueue: isPrivate,
        stream: { replicas: config.replicas ?? 1, storage: config.storage ?? 'memory' },
        // A busy connection holds at most one job per (local) worker in the
        // stream: another connection's job never waits behind more than that.
        window: options.workers,
        faults: workerFaultPlan(),
      },
      log,
    );
    frontEnd.on('log', log);
    if (localWorkers > 0) {
      const urls = servers.join(',');
      supervisor = new Supervisor({
        name: 'nats worker',
        size: localWorkers,
        report,
        spawn: () => processHandle(fork(WORKER_ENTRY, [urls, queue.name], { serialization: 'json' })),
      });
      supervisor.on('fatal', (error) => context.fail(error));
      if (context.metrics !== null) trackSupervisor(context.metrics, supervisor, true);
      await supervisor.start();
    }
  } catch (error) {
    await closeAll().catch((again: unknown) => log(`while giving up: ${reason(again)}`));
    throw error;
  }
  const front = frontEnd;
  const local = supervisor;
  return {
    open: () => front.open(),
    drain: () => local?.drain(() => front.pending > 0),
    close: closeAll,
    // SIGHUP: each local worker in turn is replaced by a new one, ready
    // before the old one drains (it finishes its job in hand, pulls no
    // more). Jobs wait in the stream meanwhile: none is refused or dropped.
    reload: async () => {
      const workers = local?.ready ?? [];
      for (const worker of workers) await local!.rotate(worker);
      return { replaced: workers.length };
    },
  };
}
