import type { Socket } from 'node:net';
import { Connection, inlineSession, type SharedState } from '@fib/core';
import { TAG, isToChild, type ToParent } from './lib/messages.js';

// A connection child: it serves the one socket its parent hands it, then exits.
if (process.send === undefined) {
  process.stderr.write('@fib/server-fork: child.js runs only as a child forked by the fork strategy\n');
  process.exit(2);
}

/** The parent drives shutdown; a Ctrl-C reaches the whole process group, so it is ignored here. */
process.on('SIGINT', () => {});
/** No parent, no one to count or stop us (SPEC section 4): leave at once. */
process.on('disconnect', () => process.exit(0));

let connection: Connection | null = null;
let shared: SharedState | null = null;
let drainRequested = false;

process.on('message', (message: unknown, handle: unknown) => {
  if (!isToChild(message)) return;
  if (message.type === 'drain') {
    drainRequested = true;
    if (shared !== null) shared.draining = true;
    connection?.drain();
    return;
  }
  if (connection !== null || handle === undefined) return;
  const socket = handle as Socket;
  const { limits, maxQueue } = message.config;
  shared = {
    jobs: 0,
    maxQueue,
    draining: drainRequested,
    report: (error) => console.error('fib-server-fork: a compute job failed:', error),
  };
  connection = new Connection(socket, inlineSession, limits, shared);
  socket.once('close', () => process.exit(0));
  socket.resume();
});

const ready: ToParent = { tag: TAG, type: 'ready' };
process.send(ready);
