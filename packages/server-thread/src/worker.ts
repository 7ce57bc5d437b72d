import { isMainThread, parentPort } from 'node:worker_threads';
import { envelope, fib, isEnvelope, READY } from '@fib/core/worker';
import { enactWorkerFault } from '@fib/core/testing';
import type { AnswerMessage, JobMessage } from './lib/messages.js';

if (isMainThread || parentPort === null) {
  throw new Error("@fib/server-thread: dist/worker.js is the entry of a connection's thread; it runs only inside one");
}
const port = parentPort;

// Jobs are computed one at a time in arrival order, so each answer belongs to
// the oldest job not answered yet: no ids needed.
port.on('message', (message: unknown) => {
  if (!isEnvelope<JobMessage>(message) || message['@fib'] !== 'job') return;
  if (message.fault !== undefined) {
    void enactWorkerFault(message.fault);
    return;
  }
  const answer: AnswerMessage = envelope('answer', { value: fib(message.n) });
  port.postMessage(answer);
});
port.postMessage(READY);
