// A queue worker process: computes the one job the server sends it, answers,
// and so asks for the next. Nothing else runs here.
import { envelope, fib, isEnvelope, READY, setUpChildProcess } from '@fib/core';
import { enactWorkerFault } from '@fib/core/testing';
import type { JobMessage, ResultMessage } from './lib/messages.js';

setUpChildProcess('@fib/server-queue dist/worker.js');
const send = process.send!.bind(process);

process.on('message', (message: unknown) => {
  if (!isEnvelope<JobMessage>(message) || message['@fib'] !== 'job') return;
  if (message.fault !== undefined) {
    void enactWorkerFault(message.fault);
    return;
  }
  const result: ResultMessage = envelope('result', { id: message.id, value: fib(message.n) });
  // The server may have gone while we computed: 'disconnect' is on its way.
  if (process.connected) send(result);
});
send(READY);
