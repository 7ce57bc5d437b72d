// The module tinypool's child-process entry imports in every pool process;
// tinypool calls its default export once per task.
import { fib, setUpChildProcess } from '@fib/core/worker';
import { enactWorkerFault } from '@fib/core/testing';
import type { PoolTask } from './lib/task.js';

interface TinypoolState {
  readonly isChildProcess?: boolean;
}
const tinypool = (process as { __tinypool_state__?: TinypoolState }).__tinypool_state__;
setUpChildProcess('@fib/server-process-pool dist/task.js', tinypool?.isChildProcess === true);

export default function compute(task: PoolTask): number | Promise<never> {
  return typeof task === 'number' ? fib(task) : enactWorkerFault(task.fault);
}
