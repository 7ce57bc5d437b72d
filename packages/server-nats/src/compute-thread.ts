// A NATS worker's compute thread: fib off the thread that talks to NATS, so
// that the worker keeps telling the server it is alive while a long job runs.
import { parentPort, isMainThread } from 'node:worker_threads';
import { fib } from '@fib/core/worker';

if (isMainThread || parentPort === null) {
  process.stderr.write('@fib/server-nats dist/compute-thread.js: a fib-worker-nats process starts this thread\n');
  process.exit(2);
}
const port = parentPort;
port.on('message', (n: number) => port.postMessage(fib(n)));
