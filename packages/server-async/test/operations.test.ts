import test from 'ava';
import { operationsSuite } from '@fib/testkit';

operationsSuite(test, { pkg: '@fib/server-async', bin: 'fib-server-async', strategy: 'async' });
