import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import {
  DRAIN,
  HandoffPort,
  HandoffQueue,
  hostConfig,
  processHandle,
  Supervisor,
  WorkerMetrics,
  type HandoffEngine,
  type ServerContext,
  type ServerOptions,
  type WorkerHandle,
} from '@fib/core';

/**
 * Children starting at once. A Node start-up is ~80 ms of CPU; a burst of
 * connections forking all at once only makes them thrash over the cores
 * (and every other client with them), so the rest wait, unread, in order.
 */
const MAX_STARTING = availableParallelism();

/** Built as its own esbuild entry (scripts/build.mjs); this module is bundled into dist/ beside it. */
const CHILD_ENTRY = new URL('./child.js', import.meta.url);

/**
 * One forked process per connection (the original's multiprocessing.Process
 * per client): the parent never reads the socket, it hands it to a new
 * child, which acknowledges it before reading (core's HandoffPort), serves
 * it to the end with core's Connection and exits. A child that dies before
 * it took the socket gives it back whole, for another child.
 */
export function createForkEngine(options: ServerOptions, context: ServerContext): HandoffEngine {
  const argument = JSON.stringify(hostConfig(options));
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
  // The connections live in the children: every scrape sums the live ones'
  // registries with the parent's, which keeps the last counts of the others.
  const workerMetrics = context.metrics === null ? null : new WorkerMetrics(context.metrics);
  context.metrics?.trackWorkers(() => supervisor.size);
  /** Children that took their connection, for a drain. */
  const serving = new Set<WorkerHandle>();
  let starting = 0;
  let draining = false;

  const startNext = () => {
    while (starting < MAX_STARTING) {
      const item = queue.shift();
      if (item === undefined) return;
      starting++;
      const { worker, ready } = supervisor.add();
      const port = new HandoffPort(worker, context.report);
      void worker.exited.then(() => serving.delete(worker));
      ready.then(
        () => {
          starting--;
          workerMetrics?.attach(worker);
          if (draining) {
            // Shutdown began before the child could take over: nothing was read.
            queue.returned(item);
            supervisor.retire(worker, 'SIGTERM');
          } else {
            void queue.give(port, item).then((adopted) => adopted && serving.add(worker));
          }
          startNext();
        },
        () => {
          starting--;
          queue.returned(item);
          startNext();
        },
      );
    }
  };
  const queue = new HandoffQueue(startNext);
  supervisor.on('fatal', (error) => {
    queue.fail();
    context.fail(error);
  });

  return {
    adopt: (socket, release) => queue.push(socket, release),
    drain() {
      draining = true;
      supervisor.drain();
      queue.drain();
      for (const worker of serving) worker.send(DRAIN);
    },
    close: () => supervisor.stop(),
  };
}
