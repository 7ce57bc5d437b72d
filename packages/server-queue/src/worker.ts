// A queue worker process: computes the one task (a job or a batch) the server sends it, answers,
// and so asks for the next. Nothing else runs here.
import { envelope, isEnvelope, READY, runTask, setUpChildProcess, type Drain } from '@fib/core/worker';
import type { JobMessage, ResultMessage } from './lib/messages.js';

setUpChildProcess('@fib/server-queue dist/worker.js');
const send = process.send!.bind(process);

process.on('message', (message: unknown) => {
  if (isEnvelope<Drain>(message) && message['@fib'] === 'drain') {
    // Being replaced (a reload). Messages are handled between jobs (fib
    // blocks the loop), so the answer of the job in hand is already queued
    // on the channel: exit once this message, behind it, is written.
    send(envelope('drained'), undefined, undefined, () => process.exit(0));
    return;
  }
  if (!isEnvelope<JobMessage>(message) || message['@fib'] !== 'job') return;
  const value = runTask(message.task);
  // A test-only fault: the process is dying.
  if (value instanceof Promise) return;
  const result: ResultMessage = envelope('result', { id: message.id, value });
  // The server may have gone while we computed: 'disconnect' is on its way.
  if (process.connected) send(result);
});
send(READY);
