// Start-up time of an installed bin, spawned directly: a reaper in between
// would add its own Node start-up (~70 ms here) to every figure. Each child
// still gets a process group of its own, registered for the final cleanup.
import { spawn, type ChildProcess } from 'node:child_process';
import { parseReadyLine } from '@fib/testkit/ready';
import { trackGroup } from './procs.js';

interface Where {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

interface Timed {
  child: ChildProcess;
  t0: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  killGroup(signal: NodeJS.Signals): void;
}

function startTimed(bin: string, args: readonly string[], { cwd, env }: Where): Timed {
  const t0 = performance.now();
  const child = spawn(bin, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const untrack = trackGroup(child.pid!);
  const exited = new Promise<Awaited<Timed['exited']>>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      untrack();
      resolve({ code, signal, ms: performance.now() - t0 });
    });
  });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  return { child, t0, exited, killGroup };
}

function deadline(ms: number, what: string): { promise: Promise<never>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms / 1000} s`)), ms);
  });
  return { promise, clear: () => clearTimeout(timer) };
}

/** Wall time of `bin --version`, spawn to exit, `runs` times. */
export async function timeVersion(
  bin: string,
  { cwd, env, runs, timeoutMs }: Where & { runs: number; timeoutMs: number },
): Promise<number[]> {
  const times: number[] = [];
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
export async function timeListening(
  bin: string,
  args: readonly string[],
  { cwd, env, runs, timeoutMs }: Where & { runs: number; timeoutMs: number },
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const run = startTimed(bin, args, { cwd, env });
    const limit = deadline(timeoutMs, `${bin} ${args.join(' ')}`);
    try {
      // Timed here rather than through waitForReady: the moment the line
      // arrives is the figure, and a helper's extra promise would blur it.
      const readyAt = new Promise<number>((resolve, reject) => {
        let out = '';
        run.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          if (parseReadyLine(out)) resolve(performance.now());
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
