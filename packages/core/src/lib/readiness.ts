/**
 * Tells a process manager that started this server over IPC that it is
 * listening: pm2's `wait_ready: true` waits for the message `'ready'` before it
 * counts the process as online (and, in a reload, before it stops the old
 * one). Without an IPC channel (a shell, systemd, a container) it does
 * nothing. Only a bin calls it, once, after its ready line; a worker process
 * of ours has an IPC channel to its own parent and never calls it.
 * Returns whether the message was sent.
 */
export function notifyReady(): boolean {
  if (typeof process.send !== 'function' || !process.connected) return false;
  // A manager that closed the channel meanwhile: nothing to tell, nothing to crash over.
  process.send('ready', undefined, undefined, () => {});
  return true;
}
