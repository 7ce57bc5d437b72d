import { fork } from 'node:child_process';
import type { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { ERROR_LINES } from '@fib/protocol';
import {
  DRAIN,
  HandoffPort,
  MAX_HANDOFFS,
  processHandle,
  Supervisor,
  type HandoffEngine,
  type ServerContext,
  type ServerOptions,
  type WorkerHandle,
} from '@fib/core';
import type { ChildConfig } from './messages.js';

/**
 * Children starting at once. A Node start-up is ~80 ms of CPU; a burst of
 * connections forking all at once only makes them thrash over the cores
 * (and every other client with them), so the rest wait, unread, in order.
 */
const MAX_STARTING = availableParallelism();

/** Built as its own esbuild entry (scripts/build.mjs); this module is bundled into dist/ beside it. */
const CHILD_ENTRY = new URL('./child.js', import.meta.url);

interface Waiting {
  readonly socket: Socket;
  readonly release: () => void;
  handoffs: number;
}

/**
 * One forked process per connection (the original's multiprocessing.Process
 * per client): the parent never reads the socket, it hands it to a new
 * child, which acknowledges it before reading (core's HandoffPort), serves
 * it to the end with core's Connection and exits. A child that dies before
 * it took the socket gives it back whole, for another child.
 */
export function createForkEngine(options: ServerOptions, context: ServerContext): HandoffEngine {
  const config: ChildConfig = {
    limits: {
      maxN: options.maxN,
      maxLine: options.maxLine,
      maxPipeline: options.maxPipeline,
      idleTimeoutMs: options.idleTimeout * 1000,
    },
    maxQueue: options.maxQueue,
  };
  const argument = JSON.stringify(config);
  const supervisor = new Supervisor({
    name: 'connection process',
    report: context.report,
    spawn: () =>
      processHandle(
        fork(CHILD_ENTRY, [argument], {
          // Not the parent's flags: a child of a parent run under a loader or an
          // inspector would pay for it (or clash on the inspector port) per connection.
          execArgv: [],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          serialization: 'json',
        }),
      ),
  });
  supervisor.on('fatal', (error) => context.fail(error));
  /** Children that took their connection, for a drain. */
  const serving = new Set<WorkerHandle>();
  const queue: Waiting[] = [];
  let starting = 0;
  let draining = false;

  const refuse = (item: Waiting, line: string) => {
    if (!item.socket.destroyed) item.socket.end(line);
    item.release();
  };

  const startNext = () => {
    while (starting < MAX_STARTING && queue.length > 0) {
      const item = queue.shift()!;
      if (item.socket.destroyed) item.release();
      else spawnFor(item);
    }
  };

  /** `item` was not taken by its child: another one, or an answer and a close. */
  const retry = (item: Waiting) => {
    if (draining) refuse(item, ERROR_LINES.shuttingDown);
    else if (item.handoffs >= MAX_HANDOFFS || supervisor.failed !== null) refuse(item, ERROR_LINES.internal);
    else {
      queue.unshift(item);
      startNext();
    }
  };

  const spawnFor = (item: Waiting) => {
    starting++;
    item.handoffs++;
    const { worker, ready } = supervisor.add();
    const port = new HandoffPort(worker, context.report);
    let started = false;
    const startedUp = () => {
      if (started) return;
      started = true;
      starting--;
      startNext();
    };
    ready.then(
      () => {
        startedUp();
        if (draining) {
          // Shutdown began before the child could take over: nothing was read.
          refuse(item, ERROR_LINES.shuttingDown);
          supervisor.retire(worker, 'SIGTERM');
          return;
        }
        void port.give(item.socket, item.release).then((adopted) => {
          if (adopted) serving.add(worker);
          else retry(item);
        });
      },
      () => {
        startedUp();
        retry(item);
      },
    );
    void worker.exited.then(() => serving.delete(worker));
  };

  return {
    adopt(socket, release) {
      // Until a child takes it, a client that gives up is ours to clean up.
      socket.on('error', () => socket.destroy());
      queue.push({ socket, release, handoffs: 0 });
      startNext();
    },
    drain() {
      draining = true;
      supervisor.drain();
      for (const item of queue.splice(0)) refuse(item, ERROR_LINES.shuttingDown);
      for (const worker of serving) worker.send(DRAIN);
    },
    close: () => supervisor.stop(),
  };
}
