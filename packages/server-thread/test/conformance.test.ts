import test from 'ava';
import { conformance } from '@fib/testkit';

conformance(test, { pkg: '@fib/server-thread', bin: 'fib-server-thread', hasWorkerPool: false });
