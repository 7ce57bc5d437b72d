// A local NATS worker process of fib-server-nats (--workers N): the same
// worker as fib-worker-nats, one slot, started and supervised by the
// front-end. Refuses to run by hand: fib-worker-nats is the bin for that.
import { READY, setUpChildProcess } from '@fib/core';
import { NatsWorker } from './lib/worker.js';

let worker: NatsWorker | null = null;
setUpChildProcess('@fib/server-nats dist/worker.js', true, {
  // The NATS thread never blocks (long jobs run on a compute thread), so
  // 'disconnect' tells it at once when the front-end is gone.
  watchdog: 'lazy',
  // Finish the job in hand (its answer goes out through NATS), then exit.
  onSigterm: () => void (worker?.stop() ?? Promise.resolve()).then(() => process.exit(0)),
});
worker = await NatsWorker.start({
  servers: (process.argv[2] ?? '').split(','),
  concurrency: 1,
  name: 'fib-server-nats local worker',
});
// A compute thread that dies leaves this process unfit: JetStream redelivers its job elsewhere.
worker.on('fatal', () => process.exit(1));
process.send!(READY);
