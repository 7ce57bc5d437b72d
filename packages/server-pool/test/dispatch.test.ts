import test from 'ava';
import { dispatchSuite } from '@fib/testkit';

dispatchSuite(test, { pkg: '@fib/server-pool', bin: 'fib-server-pool', args: ['--workers', '2'] });
