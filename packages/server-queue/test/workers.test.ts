import test from 'ava';
import { workerProcessSuite } from '@fib/testkit';

workerProcessSuite(test, { pkg: '@fib/server-queue', bin: 'fib-server-queue', childEntry: 'dist/worker.js' });
