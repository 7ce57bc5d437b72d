import test from 'ava';
import { operationsSuite } from '@fib/testkit';

operationsSuite(test, {
  pkg: '@fib/server-cluster',
  bin: 'fib-server-cluster',
  strategy: 'cluster',
  args: ['--workers', '2'],
  workers: 2,
});
