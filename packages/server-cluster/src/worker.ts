import cluster from 'node:cluster';
import { ShutdownTimeoutError, serve, type RunningServer, type ServerOptions } from '@fib/core';
import { strategy } from '@fib/server-async';
import { OPTIONS_ENV, TAG, isToWorker, type ToPrimary } from './lib/messages.js';

// A cluster worker: the event-loop server of @fib/server-async on the port the
// primary shares. Node's cluster already makes a worker exit when it loses its
// primary ('disconnect'), so no worker outlives a killed primary.
const raw = process.env[OPTIONS_ENV];
if (cluster.isPrimary || process.send === undefined || raw === undefined) {
  process.stderr.write('@fib/server-cluster: worker.js runs only as a worker forked by the cluster primary\n');
  process.exit(2);
}

/** The primary drives shutdown; a Ctrl-C reaches the whole process group, so it is ignored here. */
process.on('SIGINT', () => {});

const report = (message: ToPrimary, then?: () => void) => process.send!(message, undefined, undefined, then);

const server = await serve(strategy, JSON.parse(raw) as ServerOptions).catch((error: unknown) => {
  const { message, code } = error as NodeJS.ErrnoException;
  report({ tag: TAG, type: 'failed', message, ...(code === undefined ? {} : { code }) }, () => process.exit(1));
  return null;
});
if (server !== null) {
  report({ tag: TAG, type: 'listening', host: server.address.host, port: server.address.port });
  process.on('message', (message: unknown) => {
    if (isToWorker(message) && message.type === 'drain') drain(server);
  });
}

function drain(running: RunningServer): void {
  running.close().then(
    () => process.exit(0),
    (error: unknown) => {
      if (!(error instanceof ShutdownTimeoutError)) console.error('fib-server-cluster worker:', error);
      process.exit(error instanceof ShutdownTimeoutError ? 1 : 70);
    },
  );
}
