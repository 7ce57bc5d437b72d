'use strict';
// Runs one command in a process group of its own and takes that whole group
// down when the registry test goes away, however it goes away: the IPC channel
// to the parent closes even when the parent is SIGKILLed, which a signal
// handler could never see. Without it, a killed test would leave Verdaccio or
// a fib server listening on loopback.
//
// usage (from procs.mjs only): fork('reaper.cjs', [command, ...args])
const { spawn } = require('node:child_process');
const { constants } = require('node:os');

if (typeof process.send !== 'function') {
  process.stderr.write('reaper.cjs: must be started with an IPC channel (see scripts/registry/procs.mjs)\n');
  process.exit(2);
}

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: 'inherit', detached: true });

function signalGroup(signal) {
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is already empty
  }
}

process.on('message', (message) => {
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
process.on('disconnect', () => {
  signalGroup('SIGKILL');
  process.exit(1);
});

child.on('error', (error) => {
  process.send({ reaper: 'error', message: error.message });
  process.exit(127);
});
child.on('spawn', () => process.send({ reaper: 'started', pid: child.pid }));
child.on('exit', (code, signal) => {
  // What is still alive in the group outlived its leader: worker processes a
  // server forgot to stop. Report it, then kill them, so nothing leaks.
  const leftovers = signalGroup(0);
  if (leftovers) signalGroup('SIGKILL');
  const status = code ?? 128 + (constants.signals[signal] ?? 0);
  process.send({ reaper: 'exit', code, signal, leftovers }, () => process.exit(status));
});
