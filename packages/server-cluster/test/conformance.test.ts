import test from 'ava';
import { conformance } from '@fib/testkit';

conformance(test, {
  pkg: '@fib/server-cluster',
  bin: 'fib-server-cluster',
  hasWorkerPool: true,
  args: ['--workers', '2'],
});
