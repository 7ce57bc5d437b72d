// The module tinypool's child-process entry imports in every pool process;
// tinypool calls its default export once per task.
import { runTask, setUpChildProcess } from '@fib/core/worker';

interface TinypoolState {
  readonly isChildProcess?: boolean;
}
const tinypool = (process as { __tinypool_state__?: TinypoolState }).__tinypool_state__;
setUpChildProcess('@fib/server-process-pool dist/task.js', tinypool?.isChildProcess === true);

/** One job's n, or a batch (see `taskOf` in @fib/core). */
export default runTask;
