// The nats-servers of one test file (see @fib/server-nats/testing).
import type { TestFn } from 'ava';
import { createNatsStarter, type NatsStarter } from '@fib/server-nats/testing';

export { createNatsStarter, freePort, streamLeader, type NatsNode, type NatsStarter } from '@fib/server-nats/testing';

/** The starter of one test file: every server it starts is killed, and its store removed, once the file's tests are done. */
export function natsStarter(test: TestFn): NatsStarter {
  const starter = createNatsStarter();
  test.after.always(() => starter.stopAll());
  return starter;
}
