import test from 'ava';
import { dispatchSuite } from '@fib/testkit';

// A thread per connection: fair without core's dispatcher; --inline-max-n applies all the same.
dispatchSuite(test, { pkg: '@fib/server-thread', bin: 'fib-server-thread', args: [] });
