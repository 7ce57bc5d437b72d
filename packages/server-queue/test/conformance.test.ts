import test from 'ava';
import { conformance } from '@fib/testkit';

conformance(test, { pkg: '@fib/server-queue', bin: 'fib-server-queue', args: ['--workers', '2'], hasWorkerPool: true });
