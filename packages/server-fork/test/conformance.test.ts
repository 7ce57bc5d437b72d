import test, { type TestFn } from 'ava';
import { conformance } from '@fib/testkit';

// Serially: every connection here costs a Node start-up (~80 ms of CPU), so
// the suite's burst of 300 connections keeps both cores busy for seconds, and
// tests running beside it on the same server would only queue behind it.
conformance(test.serial as unknown as TestFn, {
  pkg: '@fib/server-fork',
  bin: 'fib-server-fork',
  hasWorkerPool: false,
});
