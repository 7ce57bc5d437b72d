import test from 'ava';
import { dispatchSuite } from '@fib/testkit';

dispatchSuite(test, { pkg: '@fib/server-queue', bin: 'fib-server-queue', args: ['--workers', '2'] });
