import test from 'ava';
import { conformance } from '@fib/testkit';

conformance(test, { pkg: '@fib/server-async', bin: 'fib-server-async', hasWorkerPool: false });
