import cluster from 'node:cluster';
import type { Socket } from 'node:net';
import { argv, execArgv } from 'node:process';
import { fileURLToPath } from 'node:url';
import { ERROR_LINES } from '@fib/protocol';
import {
  DRAIN,
  HandoffPort,
  MAX_HANDOFFS,
  isEnvelope,
  processHandle,
  Supervisor,
  trackSupervisor,
  WorkerMetrics,
  type HandoffEngine,
  type ServerContext,
  type ServerOptions,
  type WorkerHandle,
} from '@fib/core';
import { CONFIG_ENV, type Busy, type Idle, type WorkerConfig } from './messages.js';

/** Built as its own esbuild entry (scripts/build.mjs); this module is bundled into dist/ beside it. */
const WORKER_ENTRY = new URL('./worker.js', import.meta.url);

/**
 * Forks one worker with our worker entry, without touching the settings a
 * user's own cluster code set: ours are applied for this fork and the previous
 * ones restored. cluster.fork() reads `cluster.settings` synchronously.
 */
function forkWorker(config: WorkerConfig): WorkerHandle {
  const previous = cluster.settings;
  cluster.setupPrimary({ exec: fileURLToPath(WORKER_ENTRY), args: [], execArgv: [], silent: false });
  try {
    return processHandle(cluster.fork({ [CONFIG_ENV]: JSON.stringify(config) }).process);
  } finally {
    cluster.setupPrimary({ args: argv.slice(2), exec: argv[1], execArgv, silent: false, ...previous });
  }
}

interface Member {
  readonly port: HandoffPort;
  /** Computing something long: its event loop will not come round soon. */
  busy: boolean;
}

interface Waiting {
  readonly socket: Socket;
  readonly release: () => void;
  handoffs: number;
}

/**
 * The cluster primary's engine: it accepts every connection itself (the
 * server scaffold, with --max-connections counted for the whole server) and
 * hands each, unread, to the least busy worker, which acknowledges it before
 * reading (core's HandoffPort). A worker that dies before it takes a
 * connection gives it back, whole, for another worker; while no worker is
 * ready, connections wait for the replacement instead of being refused.
 */
export function createClusterEngine(options: ServerOptions, context: ServerContext): Promise<HandoffEngine> {
  if (!cluster.isPrimary) {
    throw new Error('@fib/server-cluster: start() must be called in a cluster primary, not in a worker');
  }
  const config: WorkerConfig = {
    limits: {
      maxN: options.maxN,
      maxLine: options.maxLine,
      maxPipeline: options.maxPipeline,
      idleTimeoutMs: options.idleTimeout * 1000,
    },
    maxQueue: options.maxQueue,
    metrics: context.metrics !== null,
  };
  const members = new Map<WorkerHandle, Member>();
  const waiting: Waiting[] = [];
  let draining = false;

  const supervisor = new Supervisor({
    name: 'cluster worker',
    size: options.workers,
    report: context.report,
    spawn: () => forkWorker(config),
  });
  // The connections live in the workers: every scrape sums their registries with the primary's.
  const workerMetrics = context.metrics === null ? null : new WorkerMetrics(context.metrics);
  if (context.metrics !== null) trackSupervisor(context.metrics, supervisor, true);

  supervisor.on('ready', (worker) => {
    const member: Member = { port: new HandoffPort(worker, context.report), busy: false };
    members.set(worker, member);
    workerMetrics?.attach(worker);
    worker.onMessage((message) => {
      if (!isEnvelope<Busy | Idle>(message)) return;
      if (message['@fib'] === 'busy') member.busy = true;
      else if (message['@fib'] === 'idle') {
        member.busy = false;
        pump();
      }
    });
    pump();
  });
  supervisor.on('retiring', (worker) => members.delete(worker));
  // Its HandoffPort gives back what it had not taken and releases what it served.
  supervisor.on('exit', ({ worker }) => members.delete(worker));
  supervisor.on('fatal', (error) => {
    for (const item of waiting.splice(0)) refuse(item, ERROR_LINES.internal);
    context.fail(error);
  });

  /**
   * The worker for the next connection: one whose event loop is free (no
   * handoff unacknowledged, not computing something long), with the fewest
   * connections. None: the connection waits for one.
   */
  const pick = (): Member | undefined => {
    let best: Member | undefined;
    for (const worker of supervisor.ready) {
      const member = members.get(worker);
      if (member === undefined || member.port.pending > 0) continue;
      if (
        best === undefined ||
        (best.busy && !member.busy) ||
        (best.busy === member.busy && member.port.held < best.port.held)
      ) {
        best = member;
      }
    }
    return best;
  };

  const refuse = (item: Waiting, line: string) => {
    if (!item.socket.destroyed) item.socket.end(line);
    item.release();
  };

  const pump = () => {
    while (waiting.length > 0) {
      const member = pick();
      if (member === undefined) return;
      const item = waiting.shift()!;
      if (item.socket.destroyed) {
        item.release();
        continue;
      }
      item.handoffs++;
      void member.port.give(item.socket, item.release).then((adopted) => {
        if (adopted) {
          pump();
          return;
        }
        // The worker died first: the socket is whole and unread.
        if (draining) refuse(item, ERROR_LINES.shuttingDown);
        else if (item.handoffs >= MAX_HANDOFFS) refuse(item, ERROR_LINES.internal);
        else waiting.unshift(item);
        pump();
      });
    }
  };

  return supervisor.start().then(() => ({
    adopt(socket, release) {
      // Until a worker takes it, a client that gives up is ours to clean up.
      socket.on('error', () => socket.destroy());
      waiting.push({ socket, release, handoffs: 0 });
      pump();
    },
    drain() {
      draining = true;
      supervisor.drain();
      for (const item of waiting.splice(0)) refuse(item, ERROR_LINES.shuttingDown);
      for (const worker of members.keys()) worker.send(DRAIN);
    },
    close: () => supervisor.stop(),
    // SIGHUP: each worker in turn is replaced by a new one, which is ready
    // before the old one stops taking connections and drains.
    async reload() {
      const old = supervisor.ready;
      for (const worker of old) {
        await supervisor.rotate(worker);
        context.metrics?.workerRestarted();
      }
      return { replaced: old.length };
    },
  }));
}
