// A local NATS worker process of fib-server-nats (--workers N): the same
// worker as fib-worker-nats, one slot, started and supervised by the
// front-end. Refuses to run by hand: fib-worker-nats is the bin for that.
import { isEnvelope, READY, setUpChildProcess, type Drain } from '@fib/core/worker';
import { NatsWorker } from './lib/worker.js';

let worker: NatsWorker | null = null;
/** Stop pulling, finish the job in hand (its answer goes out through NATS), then exit 0. */
const finish = () => void (worker?.stop() ?? Promise.resolve()).then(() => process.exit(0));
setUpChildProcess('@fib/server-nats dist/worker.js', true, {
  // The NATS thread never blocks (long jobs run on a compute thread), so
  // 'disconnect' tells it at once when the front-end is gone.
  watchdog: 'lazy',
  onSigterm: finish,
});
// The supervisor's DRAIN (a SIGHUP reload replacing this worker) ends it the same way.
process.on('message', (message: unknown) => {
  if (isEnvelope<Drain>(message) && message['@fib'] === 'drain') finish();
});
worker = await NatsWorker.start({
  servers: (process.argv[2] ?? '').split(','),
  queue: process.argv[3],
  concurrency: 1,
  name: 'fib-server-nats local worker',
  // The front-end made the queue before it started its workers: pulling can start at once.
  queueExists: true,
});
// A compute thread that dies leaves this process unfit: JetStream redelivers its job elsewhere.
worker.on('fatal', () => process.exit(1));
process.send!(READY);
