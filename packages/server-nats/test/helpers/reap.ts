// Imported first by every test file of this package: when ava stops a test
// file on a timeout, it sends the file's process SIGTERM, and no after-hook
// runs; without this, the servers the file started would live on with PPID 1
// (and an embedded nats-server under each). Each child this process started
// (front-ends, nats-servers, haproxy) is SIGKILLed by pid; a front-end's
// keeper then stops its nats-server and removes the store, its workers exit.
import { children } from '@fib/testkit';

/** 128 + SIGTERM, as a shell reports a process ended by it. */
const EXIT_SIGTERM = 143;

process.once('SIGTERM', () => {
  for (const pid of children(process.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  process.exit(EXIT_SIGTERM);
});
