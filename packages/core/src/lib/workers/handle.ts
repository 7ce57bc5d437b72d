import type { ChildProcess } from 'node:child_process';
import type { Worker } from 'node:worker_threads';

/** How a worker ended. */
export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** What killed it, when the runtime said (a thread's uncaught error, a failed fork). */
  readonly error?: Error;
}

/**
 * One worker, thread or process, behind the same few calls, so that the
 * supervisor and the strategies never care which. (vitest's PoolWorker and
 * tinypool's TinypoolWorker make the same split.)
 */
export interface WorkerHandle {
  /** The pid of a process, the threadId of a thread. */
  readonly id: number;
  readonly kind: 'process' | 'thread';
  /** Neither exited nor being stopped. */
  readonly alive: boolean;
  /**
   * Sends a message (with a socket handle, processes only). A worker that is
   * gone or going is not written to (tinypool's EPIPE and
   * ERR_IPC_CHANNEL_CLOSED came from writing anyway): returns false then.
   * `onSent` learns whether the message left (processes; threads at once).
   */
  send(message: object, handle?: unknown, onSent?: (error: Error | null) => void): boolean;
  /** SIGTERM asks a process to finish and exit; SIGKILL ends it. A thread is terminated either way. */
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
  onMessage(listener: (message: unknown, handle: unknown) => void): void;
  /**
   * Settles once the worker is gone and every message it sent has been
   * delivered (a process's 'close', which waits for its IPC channel): a
   * result written just before a crash is never mistaken for a lost one.
   */
  readonly exited: Promise<WorkerExit>;
}

/** A child process (from fork(), or a cluster worker's `.process`) as a WorkerHandle. */
export function processHandle(child: ChildProcess): WorkerHandle {
  let stopping = false;
  let gone = false;
  let failure: Error | undefined;
  // 'error' is a failed spawn, kill or send; without a listener it would
  // crash the server. A failed send also reaches its callback.
  child.on('error', (error) => {
    failure ??= error;
  });
  const exited = new Promise<WorkerExit>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      gone = true;
      resolve(failure === undefined ? { code, signal } : { code, signal, error: failure });
    };
    child.once('close', done);
    // A fork that failed outright (EAGAIN, ENOMEM) has no pid and may never close.
    if (child.pid === undefined) queueMicrotask(() => done(null, null));
  });
  return {
    id: child.pid ?? -1,
    kind: 'process',
    get alive() {
      // Its channel closes as it dies, often before its exit is reported: without one it can take nothing.
      return !gone && !stopping && child.connected && child.exitCode === null && child.signalCode === null;
    },
    send(message, handle, onSent) {
      if (gone || !child.connected) return false;
      child.send(message, handle as never, (error: Error | null) => onSent?.(error));
      return true;
    },
    kill(signal) {
      if (gone || child.exitCode !== null || child.signalCode !== null) return;
      if (signal === 'SIGTERM') stopping = true;
      child.kill(signal);
    },
    onMessage(listener) {
      child.on('message', listener);
    },
    exited,
  };
}

/** A worker_threads Worker as a WorkerHandle. */
export function threadHandle(worker: Worker): WorkerHandle {
  let stopping = false;
  let gone = false;
  let failure: Error | undefined;
  // An uncaught error in the thread; without a listener it would be rethrown
  // here and crash the server. 'exit' follows.
  worker.on('error', (error) => {
    failure = error;
  });
  const exited = new Promise<WorkerExit>((resolve) => {
    worker.once('exit', (code) => {
      gone = true;
      resolve(failure === undefined ? { code, signal: null } : { code, signal: null, error: failure });
    });
  });
  return {
    id: worker.threadId,
    kind: 'thread',
    get alive() {
      return !gone && !stopping;
    },
    send(message, _handle, onSent) {
      if (gone) return false;
      worker.postMessage(message);
      onSent?.(null);
      return true;
    },
    kill() {
      if (gone) return;
      stopping = true;
      void worker.terminate();
    },
    onMessage(listener) {
      worker.on('message', (message: unknown) => listener(message, undefined));
    },
    exited,
  };
}

/** "exit code 1", "SIGKILL", or the thread's error. */
export function describeExit(exit: WorkerExit): string {
  if (exit.error !== undefined) return exit.error.message;
  return exit.signal ?? `exit code ${exit.code}`;
}
