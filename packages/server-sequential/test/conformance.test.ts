import test from 'ava';
import { conformance } from '@fib/testkit';

conformance(test, { pkg: '@fib/server-sequential', bin: 'fib-server-sequential', hasWorkerPool: false });
