import cluster from 'node:cluster';
import { argv, execArgv } from 'node:process';
import { fileURLToPath } from 'node:url';
import {
  DRAIN,
  HandoffPort,
  HandoffQueue,
  MAX_HANDOFFS,
  hostConfig,
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
import type { Busy, Idle } from './messages.js';

/** Built as its own esbuild entry (scripts/build.mjs); this module is bundled into dist/ beside it. */
const WORKER_ENTRY = new URL('./worker.js', import.meta.url);

/**
 * Forks one worker with our worker entry, without touching the settings a
 * user's own cluster code set: ours are applied for this fork and the previous
 * ones restored. cluster.fork() reads `cluster.settings` synchronously.
 */
function forkWorker(argument: string): WorkerHandle {
  const previous = cluster.settings;
  cluster.setupPrimary({ exec: fileURLToPath(WORKER_ENTRY), args: [argument], execArgv: [], silent: false });
  try {
    return processHandle(cluster.fork().process);
  } finally {
    cluster.setupPrimary({ args: argv.slice(2), exec: argv[1], execArgv, silent: false, ...previous });
  }
}

/**
 * How long a retiring worker has to give its connections back. Each goes back
 * at its first quiet point (every request read answered, the answers with the
 * kernel), which a client that reads its answers reaches within a request's
 * time. Past this, the worker is told to drain: what it still holds then is
 * closed after its last answer, i.e. connections whose answers pile up unread.
 * (A worker stuck in a long fib reads the hand-back request before the drain,
 * once it is done, and still gives its connections back.)
 */
export const HAND_BACK_TIMEOUT_MS = 5000;

interface Member {
  readonly port: HandoffPort;
  /** Computing something long: its event loop will not come round soon. */
  busy: boolean;
  /** A reload will replace it: a connection it takes would move once more. */
  leaving: boolean;
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
  const argument = JSON.stringify(hostConfig(options));
  const members = new Map<WorkerHandle, Member>();

  const supervisor = new Supervisor({
    name: 'cluster worker',
    size: options.workers,
    report: context.report,
    spawn: () => forkWorker(argument),
  });
  // The connections live in the workers: every scrape sums their registries with the primary's.
  const workerMetrics = context.metrics === null ? null : new WorkerMetrics(context.metrics);
  if (context.metrics !== null) trackSupervisor(context.metrics, supervisor, true);

  supervisor.on('ready', (worker) => {
    // A connection the worker gives back (a reload) is served by the next one.
    const port = new HandoffPort(worker, context.report, (socket, release, carried) =>
      queue.back(socket, release, carried),
    );
    const member: Member = { port, busy: false, leaving: false };
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
    queue.fail();
    context.fail(error);
  });

  /** Which of two workers should take the next connection: negative for `a`. */
  const rank = (a: Member, b: Member): number =>
    Number(a.leaving) - Number(b.leaving) || Number(a.busy) - Number(b.busy) || a.port.held - b.port.held;

  /**
   * The worker for the next connection: one whose event loop is free (no
   * handoff unacknowledged), not about to be replaced by a reload, not
   * computing something long, with the fewest connections. None: the
   * connection waits for one.
   */
  const pick = (): Member | undefined => {
    let best: Member | undefined;
    for (const worker of supervisor.ready) {
      const member = members.get(worker);
      if (member === undefined || member.port.pending > 0) continue;
      if (best === undefined || rank(member, best) < 0) best = member;
    }
    return best;
  };

  const pump = () => {
    for (let member = pick(); member !== undefined && queue.length > 0; member = pick()) {
      const item = queue.shift();
      if (item === undefined) return;
      // Taken: the next one may go; given back: it is queued again, and pump() runs.
      void queue.give(member.port, item).then((adopted) => {
        if (adopted) pump();
      });
    }
  };
  const queue = new HandoffQueue(pump, Math.max(MAX_HANDOFFS, options.workers + 1));

  return supervisor.start().then(() => ({
    adopt: (socket, release) => queue.push(socket, release),
    drain() {
      supervisor.drain();
      queue.drain();
      for (const worker of members.keys()) worker.send(DRAIN);
    },
    close: () => supervisor.stop(),
    // SIGHUP: each worker in turn is replaced by a new one, which is ready
    // before the old one stops taking connections. The old one gives its
    // connections back, each at a quiet point, and they go on in the other
    // workers; then it drains what it still holds and exits.
    async reload() {
      const old = supervisor.ready;
      for (const worker of old) {
        const member = members.get(worker);
        if (member !== undefined) member.leaving = true;
      }
      try {
        for (const worker of old) {
          const member = members.get(worker);
          await supervisor.rotate(worker, async () => {
            if (member === undefined) return;
            const left = await member.port.handBack(HAND_BACK_TIMEOUT_MS);
            if (left === 0) return;
            context.report({
              level: 'warn',
              event: 'reload-close',
              msg: `cluster worker ${worker.id}: ${left} connections not given back within ${HAND_BACK_TIMEOUT_MS / 1000} s; draining it, those it still holds close after their last answer`,
              worker: worker.id,
            });
          });
          context.metrics?.workerRestarted();
        }
      } finally {
        // A reload that failed leaves the rest in service, as they were.
        for (const worker of old) {
          const member = members.get(worker);
          if (member !== undefined) member.leaving = false;
        }
      }
      return { replaced: old.length };
    },
  }));
}
