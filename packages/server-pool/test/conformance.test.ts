import test from 'ava';
import { conformance } from '@fib/testkit';

conformance(test, { pkg: '@fib/server-pool', bin: 'fib-server-pool', hasWorkerPool: true, args: ['--workers', '2'] });
