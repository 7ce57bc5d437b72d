import test from 'ava';
import { operationsSuite } from '@fib/testkit';

operationsSuite(test, {
  pkg: '@fib/server-queue',
  bin: 'fib-server-queue',
  strategy: 'queue',
  args: ['--workers', '2'],
  workers: 2,
  queue: true,
});
