import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Engine, ServerOptions } from '@fib/core';
import { ERROR_LINES } from '@fib/protocol';
import { TAG, isToParent, type ChildConfig, type ToChild } from './messages.js';

/**
 * How long a child may take to die after SIGTERM before it gets SIGKILL. A
 * child is a plain Node process that does not trap SIGTERM, so it normally
 * dies at once; the grace only covers a child stuck in a long fib.
 */
export const KILL_GRACE_MS = 2000;

/**
 * Children starting at once. A Node start-up is ~80 ms of CPU; a burst of
 * connections forking all at once only makes them thrash over the cores
 * (and every other client with them), so the rest wait, unread, in order.
 */
const MAX_STARTING = availableParallelism();

/** Built as its own esbuild entry (scripts/build.mjs); this module is bundled into dist/ beside it. */
const CHILD_ENTRY = new URL('./child.js', import.meta.url);

interface Child {
  readonly process: ChildProcess;
  readonly socket: Socket;
  /** The socket was handed over: from now on it lives in the child only. */
  handed: boolean;
}

/**
 * One forked process per connection (the original's multiprocessing.Process
 * per client): the parent never reads the socket, it sends it to the child,
 * which serves it to the end with core's Connection and exits.
 */
export function createForkEngine(options: ServerOptions): Engine {
  const config: ChildConfig = {
    limits: {
      maxN: options.maxN,
      maxLine: options.maxLine,
      maxPipeline: options.maxPipeline,
      idleTimeoutMs: options.idleTimeout * 1000,
    },
    maxQueue: options.maxQueue,
  };
  const children = new Set<Child>();
  /** Accepted connections waiting for a start-up slot. */
  const queue: { socket: Socket; release: () => void }[] = [];
  let starting = 0;
  let draining = false;

  const startNext = () => {
    while (starting < MAX_STARTING && queue.length > 0) {
      const { socket, release } = queue.shift()!;
      if (socket.destroyed) release();
      else spawn(socket, release);
    }
  };

  const send = (child: Child, message: ToChild, handle?: Socket) => {
    // A child that is gone or going cannot take a message (tinypool's EPIPE /
    // ERR_IPC_CHANNEL_CLOSED came from writing anyway).
    if (!child.process.connected) return false;
    child.process.send(message, handle, (error) => {
      if (error === null) return;
      // The child died between `ready` and the send: the socket is still ours.
      if (!child.handed) return;
      child.handed = false;
      child.socket.destroy();
    });
    return true;
  };

  const adopt = (socket: Socket, release: () => void) => {
    // Until the handover a client that gives up is ours to clean up.
    socket.on('error', () => socket.destroy());
    queue.push({ socket, release });
    startNext();
  };

  const spawn = (socket: Socket, release: () => void) => {
    starting++;
    let started = false;
    const startedUp = () => {
      if (started) return;
      started = true;
      starting--;
      startNext();
    };
    const proc = fork(CHILD_ENTRY, [], {
      // Not the parent's flags: a child of a parent run under a loader or an
      // inspector would pay for it (or clash on the inspector port) per connection.
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    const child: Child = { process: proc, socket, handed: false };
    children.add(child);

    let over = false;
    const end = () => {
      if (over) return;
      over = true;
      startedUp();
      children.delete(child);
      if (!child.handed && !socket.writableEnded) socket.end(ERROR_LINES.internal);
      release();
    };
    proc.on('exit', end);
    proc.on('error', (error) => {
      // fork() failed (EAGAIN, out of memory): no exit event may follow.
      console.error('fib-server-fork: cannot fork a connection child:', error.message);
      if (proc.pid === undefined) {
        if (!socket.writableEnded) socket.end(ERROR_LINES.busy);
        end();
      }
    });
    proc.on('message', (message: unknown) => {
      if (!isToParent(message) || child.handed) return;
      startedUp();
      if (draining) {
        // Shutdown began before the child could take over: nothing was read.
        socket.end(ERROR_LINES.shuttingDown);
        proc.kill('SIGTERM');
        return;
      }
      child.handed = true;
      // keepOpen false (the default): the parent's copy closes once sent.
      if (!send(child, { tag: TAG, type: 'serve', config }, socket)) {
        child.handed = false;
        socket.destroy();
      }
    });
  };

  const drain = () => {
    draining = true;
    for (const { socket, release } of queue.splice(0)) {
      if (!socket.writableEnded) socket.end(ERROR_LINES.shuttingDown);
      release();
    }
    for (const child of children) {
      if (child.handed) send(child, { tag: TAG, type: 'drain' });
    }
  };

  const close = async () => {
    drain();
    const exits: Promise<unknown>[] = [];
    for (const { process } of children) {
      if (process.exitCode !== null || process.signalCode !== null) continue;
      exits.push(once(process, 'exit'));
      process.kill('SIGTERM');
    }
    if (exits.length === 0) return;
    const timer = setTimeout(() => {
      for (const { process } of children) process.kill('SIGKILL');
    }, KILL_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(timer);
  };

  return { adopt, drain, close };
}
