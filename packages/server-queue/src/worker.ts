// A queue worker process: computes the one job the server sends it, answers,
// and so asks for the next. Nothing else runs here.
import { enactWorkerFault, fib, setUpChildProcess } from '@fib/core';
import { READY, isToWorker, resultMessage } from './lib/messages.js';

setUpChildProcess('@fib/server-queue dist/worker.js');
const send = process.send!.bind(process);

process.on('message', (message: unknown) => {
  if (!isToWorker(message)) return;
  if (message.fault !== undefined) {
    void enactWorkerFault(message.fault);
    return;
  }
  const value = fib(message.n);
  // The server may have gone while we computed: 'disconnect' is on its way.
  if (process.connected) send(resultMessage(message.id, value));
});
send(READY);
