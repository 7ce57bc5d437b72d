// A process that starts what a test file of this package starts, as one
// does: a nats-server from the tests' helper and a fib-server-nats with its
// embedded nats-server. It prints their pids as JSON, then waits to be killed
// as ava kills a test file on a timeout. Run with `node --import tsx`.
import './reap.js';
import { descendants, startBin } from '@fib/testkit';
import { createNatsStarter } from './nats-servers.js';

/** Bounds this process's life should nobody kill it. */
const LIFETIME_MS = 60_000;

const node = await createNatsStarter().single();
const server = await startBin('@fib/server-nats', 'fib-server-nats', ['--workers', '1']);
const embedded = descendants(server.pid);
process.stdout.write(
  `${JSON.stringify({ helperNats: node.child.pid, store: node.store, server: server.pid, embedded })}\n`,
);
setTimeout(() => process.exit(0), LIFETIME_MS);
