import test from 'ava';
import { conformance } from '@fib/testkit';

conformance(test, {
  pkg: '@fib/server-process-pool',
  bin: 'fib-server-process-pool',
  args: ['--workers', '2'],
  hasWorkerPool: true,
});
