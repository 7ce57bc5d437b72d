import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKeeperMessage } from './keeper-messages.js';

/** esbuild bundles this module into dist/, beside the keeper's entry. */
const KEEPER_ENTRY = new URL('./nats-keeper.js', import.meta.url);
/** nats-server with JetStream is ready in about 50 ms; a loaded CI machine gets much more. */
const START_TIMEOUT_MS = 15_000;
/** The keeper stops nats-server within 5 s (its own bound); then it is killed. */
const STOP_TIMEOUT_MS = 7000;

/** nats-server started by this front-end (no --nats). */
export interface EmbeddedNats {
  readonly url: string;
  /** Stops nats-server and removes its store. */
  close(): Promise<void>;
}

/**
 * Starts `binary` through the keeper process. The keeper runs in a process
 * group of its own: a SIGTERM or Ctrl-C sent to the server's group must not
 * stop NATS while the front-end still drains through it. `onLost` is called
 * if the keeper dies before `close` (killed by someone): nats-server went
 * with it, and this front-end has no NATS any more.
 */
export async function startEmbeddedNats(
  binary: string,
  log: (line: string) => void,
  onLost: (error: Error) => void,
): Promise<EmbeddedNats> {
  // Made here rather than by the keeper: should the keeper be SIGKILLed, the store is still ours to remove.
  const store = mkdtempSync(join(tmpdir(), 'fib-nats-'));
  const keeper = fork(KEEPER_ENTRY, [binary, store], {
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'json',
  });
  let closing = false;
  let ready = false;
  const exited = once(keeper, 'exit').then(([code, signal]) => {
    rmSync(store, { recursive: true, force: true });
    return `${signal ?? `exit code ${code}`}`;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // nats-server goes with it (its parent-death signal).
      keeper.kill('SIGKILL');
      reject(new Error(`the embedded nats-server was not ready within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    keeper.on('message', (message: unknown) => {
      if (!isKeeperMessage(message)) return;
      if (message.type === 'ready') {
        clearTimeout(timer);
        ready = true;
        resolve(message.url);
      } else if (message.type === 'failed') {
        clearTimeout(timer);
        // After 'ready' (nats-server in a crash loop), why the keeper is about to exit (onLost).
        if (ready) log(message.reason);
        else reject(new Error(message.reason));
      } else log(message.line);
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`the embedded nats-server's keeper exited (${how}) before NATS was ready`));
    });
  });
  void exited.then((how) => {
    if (!closing) onLost(new Error(`the embedded nats-server's keeper exited (${how}): no NATS any more`));
  });
  return {
    url,
    close: () => {
      closing = true;
      return stopKeeper(keeper, exited);
    },
  };
}

async function stopKeeper(keeper: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (keeper.exitCode === null && keeper.signalCode === null) {
    keeper.kill('SIGTERM');
    const timer = setTimeout(() => keeper.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  await exited;
}
