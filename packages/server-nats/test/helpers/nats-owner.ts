// A process that owns one nats-server started by the tests' helper, as a test
// file does: it prints the nats-server's pid, then waits to be killed (a test
// file that ava kills on a timeout). Run with `node --import tsx`.
import { createNatsStarter } from './nats-servers.js';

/** Bounds this process's life should nobody kill it. */
const LIFETIME_MS = 60_000;

const node = await createNatsStarter().single();
process.stdout.write(`${node.child.pid}\n`);
setTimeout(() => process.exit(0), LIFETIME_MS);
