/**
 * Errors of the worker layer, each with a stable `code` (as undici does) so
 * that callers branch on the code, not on a message. None of them reaches a
 * client as such: `retryOnce` turns deaths into `ERR internal`, and a closed
 * connection has nobody left to answer.
 */
export class WorkerError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A worker (thread or process) died while it held a job. */
export class WorkerDiedError extends WorkerError {
  constructor(message = 'the worker holding this job died', options?: { cause?: unknown }) {
    super('FIB_WORKER_DIED', message, options);
  }
}

/** A worker could not start: it exited, or was not ready in time, before it said it was ready. */
export class WorkerStartError extends WorkerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FIB_WORKER_START', message, options);
  }
}

/** The connection is gone: its job was dropped, or is not worth a retry. */
export class ConnectionClosedError extends WorkerError {
  constructor(message = 'the connection closed before its job was computed') {
    super('FIB_CONNECTION_CLOSED', message);
  }
}

/** The engine is closing: jobs still queued are not computed. */
export class EngineClosedError extends WorkerError {
  constructor(message = 'the server closed before this job was computed') {
    super('FIB_ENGINE_CLOSED', message);
  }
}
