'use strict';
// Runs one command in a process group of its own and takes that whole group
// down when the registry test goes away, however it goes away: the IPC channel
// to the parent closes even when the parent is SIGKILLed, which a signal
// handler could never see. Without it, a killed test would leave Verdaccio or
// a fib server listening on loopback.
//
// When the parent dies without cleaning up, the reaper also removes the
// parent's temp folder, if it was given one (and only a fib-registry-* folder
// of the system temp dir).
//
// usage (from procs.mjs only): fork('reaper.cjs', [graceMs, orphanDir, command, ...args])
const { spawn } = require('node:child_process');
const { rmSync } = require('node:fs');
const { constants, tmpdir } = require('node:os');
const { basename, dirname, resolve } = require('node:path');

const send = process.send?.bind(process);
if (send === undefined) {
  process.stderr.write('reaper.cjs: must be started with an IPC channel (see scripts/registry/procs.ts)\n');
  process.exit(2);
}

/** How often to look whether the rest of the group has ended after its leader. */
const POLL_MS = 50;
const [grace, orphanDir, command = '', ...args] = process.argv.slice(2);
const graceMs = Number(grace);
const child = spawn(command, args, { stdio: 'inherit', detached: true });

/** @param {NodeJS.Signals | 0} signal 0 only asks whether the group still has a process. */
function signalGroup(signal) {
  try {
    process.kill(-(child.pid ?? 0), signal);
    return true;
  } catch {
    return false; // ESRCH: the group is already empty
  }
}

process.on('message', (/** @type {{ reaper?: string, signal: NodeJS.Signals, group?: boolean }} */ message) => {
  if (message?.reaper !== 'signal') return;
  if (message.group) signalGroup(message.signal);
  else {
    try {
      child.kill(message.signal);
    } catch {
      // already gone
    }
  }
});
function removeOrphanDir() {
  const dir = orphanDir && resolve(orphanDir);
  if (dir && dirname(dir) === resolve(tmpdir()) && basename(dir).startsWith('fib-registry-')) {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

// Parent gone, or a Ctrl-C that reached this reaper's own group: take the
// command's group down with it.
for (const event of ['disconnect', 'SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(event, () => {
    signalGroup('SIGKILL');
    if (event === 'disconnect') removeOrphanDir();
    process.exit(1);
  });
}

child.on('error', (error) => {
  send({ reaper: 'error', message: error.message });
  process.exit(127);
});
child.on('spawn', () => send({ reaper: 'started', pid: child.pid }));
child.on('exit', async (code, signal) => {
  // The leader can end before the rest of its group: npx exits as soon as
  // its `sh -c` child does, while the server it started is still draining.
  // Whatever is still alive after the grace period has outlived its leader
  // for good (worker processes a server forgot to stop): report it, then
  // kill it, so nothing leaks.
  const deadline = Date.now() + graceMs;
  let leftovers = signalGroup(0);
  while (leftovers && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    leftovers = signalGroup(0);
  }
  if (leftovers) signalGroup('SIGKILL');
  const status = code ?? 128 + (signal ? constants.signals[signal] : 0);
  send({ reaper: 'exit', code, signal, leftovers }, undefined, undefined, () => process.exit(status));
});
