import test from 'ava';
import { conformance } from '@fib/testkit';

conformance(test, {
  pkg: '@fib/server-cluster',
  bin: 'fib-server-cluster',
  usesWorkers: true,
  args: ['--workers', '2'],
});
