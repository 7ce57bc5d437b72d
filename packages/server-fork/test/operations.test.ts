import test from 'ava';
import { operationsSuite } from '@fib/testkit';

operationsSuite(test, { pkg: '@fib/server-fork', bin: 'fib-server-fork', strategy: 'fork', workers: 4 });
