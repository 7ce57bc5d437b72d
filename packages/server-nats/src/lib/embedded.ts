import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
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
 * stop NATS while the front-end still drains through it.
 */
export async function startEmbeddedNats(binary: string, log: (line: string) => void): Promise<EmbeddedNats> {
  const keeper = fork(KEEPER_ENTRY, [binary], {
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'json',
  });
  const exited = once(keeper, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      keeper.kill('SIGKILL');
      reject(new Error(`the embedded nats-server was not ready within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    keeper.on('message', (message: unknown) => {
      if (!isKeeperMessage(message)) return;
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.url);
      } else if (message.type === 'failed') {
        clearTimeout(timer);
        reject(new Error(message.reason));
      } else log(message.line);
    });
    keeper.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the embedded nats-server's keeper exited (${signal ?? code}) before NATS was ready`));
    });
  });
  return { url, close: () => stopKeeper(keeper, exited) };
}

async function stopKeeper(keeper: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (keeper.exitCode !== null || keeper.signalCode !== null) return;
  keeper.kill('SIGTERM');
  const timer = setTimeout(() => keeper.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
