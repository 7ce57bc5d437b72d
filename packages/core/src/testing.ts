/**
 * `@fib/core/testing`: hooks for the test suites of the worker strategies,
 * kept out of the public entry point. Nothing here is armed unless the
 * FIB_TEST_WORKER_FAULT environment variable is set when a server starts
 * (see `workerFaultPlan`); a client can never trigger a fault.
 */
export {
  WORKER_FAULT_ENV,
  WORKER_FAULT_KINDS,
  enactWorkerFault,
  workerFaultPlan,
  type WorkerFault,
  type WorkerFaultPlan,
} from './lib/fault.js';
