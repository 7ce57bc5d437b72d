import cluster, { type Worker } from 'node:cluster';
import { argv, execArgv } from 'node:process';
import { fileURLToPath } from 'node:url';
import { ShutdownTimeoutError, type RunningServer, type ServerOptions } from '@fib/core';
import { OPTIONS_ENV, TAG, isToPrimary, type ToWorker } from './messages.js';

/** Built as its own esbuild entry (scripts/build.mjs); this module is bundled into dist/ beside it. */
const WORKER_ENTRY = new URL('./worker.js', import.meta.url);

/**
 * After --shutdown-timeout a worker cuts its own connections off and exits 1;
 * this is how much longer the primary waits for that before SIGKILL.
 */
export const KILL_GRACE_MS = 2000;
/** A worker that dies sooner than this after it started is crashing, not unlucky: back off. */
const MIN_UPTIME_MS = 1000;
const FIRST_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 5000;

/** Splits `total` into `parts` integers that differ by at most one and sum to `total`. */
export function split(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

interface Slot {
  /** This slot's share of --max-connections. */
  readonly maxConnections: number;
  worker: Worker | null;
  listening: boolean;
  startedAt: number;
  restartDelay: number;
  restartTimer: NodeJS.Timeout | null;
}

/**
 * Forks one worker with our worker entry, without touching the settings a
 * user's own cluster code set: ours are applied for this fork and the previous
 * ones restored. cluster.fork() reads `cluster.settings` synchronously.
 */
function forkWorker(options: ServerOptions): Worker {
  const previous = cluster.settings;
  cluster.setupPrimary({ exec: fileURLToPath(WORKER_ENTRY), args: [], execArgv: [], silent: false });
  try {
    return cluster.fork({ [OPTIONS_ENV]: JSON.stringify(options) });
  } finally {
    cluster.setupPrimary({ args: argv.slice(2), exec: argv[1], execArgv, silent: false, ...previous });
  }
}

/**
 * The cluster primary: forks --workers workers, each running the event-loop
 * server on the one shared port (Node's round-robin: the primary accepts and
 * passes each connection to the next worker), replaces a worker that dies, and
 * drains them all on close().
 */
export async function startCluster(options: ServerOptions): Promise<RunningServer> {
  if (!cluster.isPrimary) {
    throw new Error('@fib/server-cluster: start() must be called in a cluster primary, not in a worker');
  }
  // --max-connections is server-wide: each worker gets its share, so a worker
  // without a single connection to serve would be useless.
  const shares = split(options.maxConnections, Math.min(options.workers, options.maxConnections));
  const slots: Slot[] = shares.map((maxConnections) => ({
    maxConnections,
    worker: null,
    listening: false,
    startedAt: 0,
    restartDelay: 0,
    restartTimer: null,
  }));
  let address: { host: string; port: number } | null = null;
  let closing: Promise<void> | null = null;
  let startup: { resolve(): void; reject(error: Error): void } | null = null;

  /**
   * With --port 0, every worker asks the primary for port 0 and cluster gives
   * them all the one handle it keyed by that request, hence one port. Once no
   * worker holds that handle any more, cluster closes it, and a new port 0
   * would be a new port: the next worker asks for the real one instead.
   */
  const portFor = (): number => {
    if (options.port !== 0 || address === null) return options.port;
    return slots.some((slot) => slot.listening) ? 0 : address.port;
  };

  const spawn = (slot: Slot) => {
    slot.restartTimer = null;
    slot.listening = false;
    slot.startedAt = Date.now();
    const worker = forkWorker({ ...options, port: portFor(), maxConnections: slot.maxConnections });
    slot.worker = worker;
    worker.on('message', (message: unknown) => {
      if (!isToPrimary(message)) return;
      if (message.type === 'failed') {
        const error = Object.assign(
          new Error(message.message),
          message.code === undefined ? {} : { code: message.code },
        );
        if (startup !== null) startup.reject(error);
        else console.error(`fib-server-cluster: worker ${worker.process.pid} cannot listen: ${message.message}`);
        return;
      }
      if (address !== null && message.port !== address.port) {
        console.error(
          `fib-server-cluster: worker ${worker.process.pid} got port ${message.port}, not ${address.port}; replacing it`,
        );
        worker.kill('SIGTERM');
        return;
      }
      address ??= { host: message.host, port: message.port };
      slot.listening = true;
      if (startup !== null && slots.every((s) => s.listening)) startup.resolve();
    });
    worker.on('error', (error) => {
      // Writing to a worker that is going away; its exit follows and is handled there.
      console.error(`fib-server-cluster: worker ${worker.process.pid}: ${error.message}`);
    });
    worker.on('exit', (code, signal) => {
      if (slot.worker !== worker) return;
      slot.worker = null;
      slot.listening = false;
      if (closing !== null) return;
      if (startup !== null) {
        startup.reject(new Error(`a worker exited during start-up (${signal ?? `code ${code}`})`));
        return;
      }
      const uptime = Date.now() - slot.startedAt;
      slot.restartDelay =
        uptime >= MIN_UPTIME_MS
          ? 0
          : Math.min(MAX_RESTART_DELAY_MS, Math.max(FIRST_RESTART_DELAY_MS, slot.restartDelay * 2));
      console.error(
        `fib-server-cluster: worker ${worker.process.pid} died (${signal ?? `code ${code}`}); replacing it`,
      );
      slot.restartTimer = setTimeout(() => spawn(slot), slot.restartDelay);
    });
  };

  const stop = async (): Promise<boolean> => {
    const exits: Promise<boolean>[] = [];
    for (const slot of slots) {
      if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
      const worker = slot.worker;
      if (worker === null) continue;
      if (slot.listening && worker.isConnected()) {
        // Clean when the worker drained within --shutdown-timeout (exit 0).
        exits.push(new Promise((resolve) => worker.once('exit', (code) => resolve(code === 0))));
        const drain: ToWorker = { tag: TAG, type: 'drain' };
        worker.send(drain);
      } else {
        // Still starting (a replacement): it serves nothing yet, nothing is cut off.
        exits.push(new Promise((resolve) => worker.once('exit', () => resolve(true))));
        worker.process.kill('SIGTERM');
      }
    }
    const timer = setTimeout(
      () => {
        for (const slot of slots) slot.worker?.process.kill('SIGKILL');
      },
      options.shutdownTimeout * 1000 + KILL_GRACE_MS,
    );
    const clean = await Promise.all(exits);
    clearTimeout(timer);
    return clean.every(Boolean);
  };

  const close = () => {
    closing ??= stop().then((clean) => {
      if (!clean) throw new ShutdownTimeoutError(options.shutdownTimeout);
    });
    return closing;
  };

  try {
    await new Promise<void>((resolve, reject) => {
      startup = { resolve, reject };
      for (const slot of slots) spawn(slot);
    });
  } catch (error) {
    closing = stop().then(() => {});
    await closing;
    throw error;
  } finally {
    startup = null;
  }
  const done = new Promise<void>((resolve) => {
    const wait = () => (closing === null ? setTimeout(wait, 100).unref() : void closing.finally(resolve));
    wait();
  });
  return { address: Object.freeze({ ...address! }), close, done };
}
