import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { MARK, type KeeperMessage } from './keeper-messages.js';
import { tiedToParent } from '@fib/core';

/** nats-server drains JetStream on SIGTERM in milliseconds; past this it is killed. */
const SERVER_STOP_MS = 5000;
/** A nats-server that died is started again after this pause, on the same port and store. */
const RESTART_DELAY_MS = 500;
/** Deaths within RESTART_WINDOW_MS beyond which the keeper stops restarting (a crash loop). */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

const LISTENING = /Listening for client connections on (\S+):(\d+)/;
const READY = 'Server is ready';
const PROBLEM = /\[(ERR|FTL|WRN)\]/;

export interface Keeper {
  stop(): Promise<void>;
}

/**
 * Runs nats-server with JetStream on a free loopback port and the temporary
 * store `store` (an empty folder the front-end made), restarts it if it dies,
 * and removes the store on exit, whatever the way out (the exit handler runs
 * on process.exit, 'disconnect' included). Should this process be killed
 * outright (SIGKILL: no handler runs), nats-server is killed with it by its
 * parent-death signal (see tiedToParent), and the front-end removes the store.
 */
export function runKeeper(binary: string, store: string, send: (message: KeeperMessage) => void): Keeper {
  let server: ChildProcess | null = null;
  let port = -1; // -1: nats-server picks a free port the first time; the same one after a restart
  let announced = false;
  let stopping: Promise<void> | null = null;
  const deaths: number[] = [];

  process.on('exit', () => {
    if (server !== null && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    rmSync(store, { recursive: true, force: true });
  });

  const log = (line: string) => send({ [MARK]: 1, type: 'log', line });
  const fail = (reason: string) => {
    send({ [MARK]: 1, type: 'failed', reason });
    // Let the message reach the parent before the channel closes.
    setTimeout(() => process.exit(1), 100);
  };

  const launch = () => {
    // Spawned from this main thread, which lives as long as the process: the
    // parent-death signal fires when the spawning thread ends.
    const command = tiedToParent({ file: binary, args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store] });
    const child = spawn(command.file, command.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    server = child;
    let ready = false;
    // Read every line, always: a full pipe would block nats-server.
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const listening = LISTENING.exec(line);
      if (listening !== null) port = Number(listening[2]);
      else if (line.includes(READY)) {
        ready = true;
        if (!announced) {
          announced = true;
          send({ [MARK]: 1, type: 'ready', url: `nats://127.0.0.1:${port}` });
        } else log(`embedded nats-server is back on 127.0.0.1:${port}`);
      } else if (PROBLEM.test(line)) log(`nats-server: ${line.replace(/^\[\d+\] \S+ \S+ /, '')}`);
    });
    child.once('error', (error) => fail(`cannot start ${binary}: ${error.message}`));
    child.once('exit', (code, signal) => {
      if (stopping !== null) return;
      const how = signal ?? `exit code ${code}`;
      if (!ready && !announced) {
        fail(`${binary} exited (${how}) before it was ready`);
        return;
      }
      const now = Date.now();
      deaths.push(now);
      while (deaths.length > 0 && now - deaths[0]! > RESTART_WINDOW_MS) deaths.shift();
      if (deaths.length > MAX_RESTARTS) {
        fail(`embedded nats-server died ${deaths.length} times within ${RESTART_WINDOW_MS / 1000} s; giving up`);
        return;
      }
      log(`embedded nats-server exited (${how}); starting it again on 127.0.0.1:${port}`);
      setTimeout(launch, RESTART_DELAY_MS);
    });
  };
  launch();

  const stop = async () => {
    const current = server;
    if (current !== null && current.exitCode === null && current.signalCode === null) {
      const exited = new Promise((resolve) => current.once('exit', resolve));
      current.kill('SIGTERM');
      const timer = setTimeout(() => current.kill('SIGKILL'), SERVER_STOP_MS);
      await exited;
      clearTimeout(timer);
    }
    process.exit(0);
  };
  return {
    stop() {
      stopping ??= stop();
      return stopping;
    },
  };
}
