// Start-up time of an installed bin, spawned directly: a reaper in between
// would add its own Node start-up (~70 ms here) to every figure. Each child
// still gets a process group of its own, registered for the final cleanup.
import { spawn } from 'node:child_process';
import { trackGroup } from './procs.mjs';

function startTimed(bin, args, { cwd, env }) {
  const t0 = performance.now();
  const child = spawn(bin, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const untrack = trackGroup(child.pid);
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      untrack();
      resolve({ code, signal, ms: performance.now() - t0 });
    });
  });
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  return { child, t0, exited, killGroup };
}

function deadline(ms, what) {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms / 1000} s`)), ms);
  });
  return { promise, clear: () => clearTimeout(timer) };
}

/** Wall time of `bin --version`, spawn to exit, `runs` times. */
export async function timeVersion(bin, { cwd, env, runs, timeoutMs }) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const run = startTimed(bin, ['--version'], { cwd, env });
    const limit = deadline(timeoutMs, `${bin} --version`);
    try {
      const { code, ms } = await Promise.race([run.exited, limit.promise]);
      if (code !== 0) throw new Error(`${bin} --version: exit code ${code}`);
      times.push(ms);
    } finally {
      limit.clear();
      run.killGroup('SIGKILL');
    }
  }
  return times;
}

/** Wall time from spawn to the ready line on stdout, `runs` times; each server is then stopped. */
export async function timeListening(bin, args, { cwd, env, runs, ready, timeoutMs }) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const run = startTimed(bin, args, { cwd, env });
    const limit = deadline(timeoutMs, `${bin} ${args.join(' ')}`);
    try {
      const readyAt = new Promise((resolve, reject) => {
        let out = '';
        run.child.stdout.setEncoding('utf8').on('data', (chunk) => {
          out += chunk;
          if (ready.test(out)) resolve(performance.now());
        });
        void run.exited.then(({ code, signal }) =>
          reject(new Error(`${bin} exited (${signal ?? code}) before it was listening`)),
        );
      });
      times.push((await Promise.race([readyAt, limit.promise])) - run.t0);
      run.killGroup('SIGTERM');
      await Promise.race([run.exited, limit.promise]);
    } finally {
      limit.clear();
      run.killGroup('SIGKILL');
    }
  }
  return times;
}
