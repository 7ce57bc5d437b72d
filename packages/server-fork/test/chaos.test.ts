import test from 'ava';
import { chaosSuite } from '@fib/testkit';

chaosSuite(test, 'fork');
