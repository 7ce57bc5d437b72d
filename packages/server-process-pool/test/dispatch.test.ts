import test from 'ava';
import { dispatchSuite } from '@fib/testkit';

dispatchSuite(test, { pkg: '@fib/server-process-pool', bin: 'fib-server-process-pool', args: ['--workers', '2'] });
