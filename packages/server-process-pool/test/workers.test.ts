import test from 'ava';
import { workerProcessSuite } from '@fib/testkit';

workerProcessSuite(test, {
  pkg: '@fib/server-process-pool',
  bin: 'fib-server-process-pool',
  childEntry: 'dist/task.js',
});
