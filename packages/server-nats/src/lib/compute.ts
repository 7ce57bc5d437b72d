import { Worker } from 'node:worker_threads';

/** esbuild bundles this module into dist/, beside the thread's entry. */
const THREAD_ENTRY = new URL('./compute-thread.js', import.meta.url);

/**
 * One compute thread of a worker slot: a slot holds one job at a time, so the
 * thread has at most one fib(n) in hand. A thread that dies by itself ends
 * the worker process (see `onFailure`): its jobs are then redelivered by
 * JetStream, which is simpler and safer than nursing a half-broken process.
 */
export class ComputeThread {
  readonly #thread: Worker;
  #waiting: ((value: number | null) => void) | null = null;

  constructor(onFailure: (error: Error) => void) {
    this.#thread = new Worker(THREAD_ENTRY);
    this.#thread.on('message', (value: number) => this.#settle(value));
    this.#thread.on('error', onFailure);
    this.#thread.on('exit', (code) => onFailure(new Error(`a compute thread exited (code ${code})`)));
    // Idle threads must not keep a stopping worker alive.
    this.#thread.unref();
  }

  /** fib(n), or null if the job was cancelled meanwhile. */
  run(n: number): Promise<number | null> {
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.#thread.postMessage(n);
    });
  }

  /**
   * Ends the thread, whatever it computes (fib does not yield: terminating
   * the thread is the only way to stop it); a pending `run` resolves null.
   * The slot starts a new thread for its next long job.
   */
  terminate(): void {
    this.#thread.removeAllListeners('exit');
    this.#thread.removeAllListeners('error');
    this.#thread.on('error', () => {});
    void this.#thread.terminate();
    this.#settle(null);
  }

  #settle(value: number | null): void {
    const resolve = this.#waiting;
    this.#waiting = null;
    resolve?.(value);
  }
}
