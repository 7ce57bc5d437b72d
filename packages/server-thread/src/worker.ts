import { isMainThread, parentPort } from 'node:worker_threads';
import { envelope, isEnvelope, READY, runTask } from '@fib/core/worker';
import type { AnswerMessage, JobMessage } from './lib/messages.js';

if (isMainThread || parentPort === null) {
  throw new Error("@fib/server-thread: dist/worker.js is the entry of a connection's thread; it runs only inside one");
}
const port = parentPort;

// The thread is sent a task only when it holds none, so each answer is the
// answer to the one task it holds: no ids needed.
port.on('message', (message: unknown) => {
  if (!isEnvelope<JobMessage>(message) || message['@fib'] !== 'job') return;
  const value = runTask(message.task);
  // A test-only fault: the thread is dying.
  if (value instanceof Promise) return;
  const answer: AnswerMessage = envelope('answer', { value });
  port.postMessage(answer);
});
port.postMessage(READY);
