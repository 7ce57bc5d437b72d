import type { LogRecord } from './log.js';

/** What a reload did, for its report. */
export interface ReloadResult {
  /** Workers replaced; 0 for a strategy that has none. */
  readonly replaced: number;
}

export interface Reloader {
  /**
   * Asks for a reload (SIGHUP). One that arrives while a reload runs is
   * queued and runs right after it; several such requests make one more
   * reload, not many: the last one already picks up everything they asked for.
   */
  request(): void;
  /** Resolves once no reload runs or waits (for shutdown and tests). */
  idle(): Promise<void>;
}

/**
 * Runs `reload` one at a time on request and reports each: begun, queued,
 * done with its duration, or failed. A failed reload is reported, never
 * thrown: a SIGHUP must not kill the server.
 */
export function reloader(reload: () => Promise<ReloadResult>, report: (record: LogRecord) => void): Reloader {
  let running: Promise<void> | null = null;
  let queued = false;

  const run = async (): Promise<void> => {
    const started = performance.now();
    report({ level: 'info', event: 'reload-begin', msg: 'reload: replacing the workers one at a time' });
    try {
      const { replaced } = await reload();
      const seconds = (performance.now() - started) / 1000;
      report({
        level: 'info',
        event: 'reload-done',
        msg: `reload done in ${seconds.toFixed(2)} s: ${replaced} workers replaced`,
        replaced,
        seconds,
      });
    } catch (error) {
      report({
        level: 'error',
        event: 'reload-failed',
        msg: `reload failed: ${error instanceof Error ? error.message : String(error)}`,
        err: error,
      });
    }
  };

  const next = (): Promise<void> => {
    if (!queued) {
      running = null;
      return Promise.resolve();
    }
    queued = false;
    return run().then(next);
  };

  return {
    request() {
      if (running !== null) {
        if (!queued) report({ level: 'info', event: 'reload-queued', msg: 'reload: one is running; queued after it' });
        queued = true;
        return;
      }
      running = run().then(next);
    },
    idle: () => running ?? Promise.resolve(),
  };
}
