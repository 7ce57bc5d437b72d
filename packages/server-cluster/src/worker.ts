import cluster from 'node:cluster';
import { ShutdownTimeoutError, serve, setUpChildProcess, type RunningServer, type ServerOptions } from '@fib/core';
import { strategy } from '@fib/server-async';
import { OPTIONS_ENV, TAG, isToWorker, type ToPrimary } from './lib/messages.js';

// A cluster worker: the event-loop server of @fib/server-async on the port the
// primary shares. It exits with its primary, even in the middle of a long fib
// (the watchdog thread of setUpChildProcess), ignores SIGINT and drains on
// SIGTERM: the primary drives shutdown.
const raw = process.env[OPTIONS_ENV];
let server: RunningServer | null = null;
setUpChildProcess('@fib/server-cluster/dist/worker.js', cluster.isWorker && raw !== undefined, {
  // A SIGTERM sent to the whole process group (systemd's default, `kill -TERM -PGID`)
  // reaches the workers with the primary's: drain as the primary asks, not die mid-request.
  // A worker still starting serves nobody: it just exits.
  onSigterm: () => (server === null ? process.exit(0) : drain(server)),
});

const report = (message: ToPrimary, then?: () => void) => process.send!(message, undefined, undefined, then);

server = await serve(strategy, JSON.parse(raw!) as ServerOptions).catch((error: unknown) => {
  const { message, code } = error as NodeJS.ErrnoException;
  report({ tag: TAG, type: 'failed', message, ...(code === undefined ? {} : { code }) }, () => process.exit(1));
  return null;
});
if (server !== null) {
  report({ tag: TAG, type: 'listening', host: server.address.host, port: server.address.port });
  const running = server;
  process.on('message', (message: unknown) => {
    if (isToWorker(message) && message.type === 'drain') drain(running);
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
