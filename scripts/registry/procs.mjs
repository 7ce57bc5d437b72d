// Child processes of the registry test: every command runs under reaper.cjs in
// a process group of its own, with a deadline, and stopAll() takes down every
// group still alive (also from an 'exit' handler, synchronously).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REAPER = fileURLToPath(new URL('./reaper.cjs', import.meta.url));
/** Output kept per stream: enough for an error report, bounded for chatty tools. */
const MAX_CAPTURE = 1 << 20;

const live = new Set();
/** Process groups started without a reaper (start-up timing), by leader pid. */
const bareGroups = new Set();

/** Registers a detached child's group for killAllSync; returns the untrack function. */
export function trackGroup(pid) {
  bareGroups.add(pid);
  return () => bareGroups.delete(pid);
}

/**
 * An environment for the tools the test runs, free of what `npm run` adds:
 * npm_config_local_prefix and friends would point npm back at the monorepo,
 * and node_modules/.bin on PATH would let `npx` find the workspace bins
 * instead of the registry's.
 */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'INIT_CWD' || key === 'NODE_PATH') continue;
    env[key] = value;
  }
  env.PATH = (env.PATH ?? '')
    .split(':')
    .filter((dir) => dir && !dir.includes('node_modules'))
    .join(':');
  return { ...env, ...extra };
}

/**
 * Starts `command args` in its own process group. The handle exposes the
 * output so far, a promise of the exit, and ways to wait for a line. Once the
 * command exits, the rest of its group gets `graceMs` to end by itself
 * before it is reported (`leftovers`) and killed. `orphanDir`: a temp
 * folder the reaper removes if this process dies without cleaning up.
 */
export function spawnGuarded(command, args, { cwd, env, label = command, graceMs = 0, orphanDir = '' } = {}) {
  const reaper = fork(REAPER, [String(graceMs), orphanDir, command, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const handle = {
    label,
    reaper,
    pid: undefined,
    stdout: '',
    stderr: '',
    done: false,
    leftovers: false,
    exited: undefined,
    onLine: new Set(),
    signal(signal, { group = false } = {}) {
      if (!handle.done && reaper.connected) reaper.send({ reaper: 'signal', signal, group });
    },
    /** Resolves with the first match of `pattern` on stdout, rejects on exit or after `ms`. */
    waitFor(pattern, ms) {
      return new Promise((resolve, reject) => {
        const existing = handle.stdout.match(pattern);
        if (existing) return resolve(existing);
        const timer = setTimeout(
          () => finish(new Error(`${label}: no ${pattern} on stdout within ${ms / 1000} s`)),
          ms,
        );
        const listener = () => {
          const match = handle.stdout.match(pattern);
          if (match) finish(null, match);
        };
        const finish = (error, match) => {
          clearTimeout(timer);
          handle.onLine.delete(listener);
          if (error) reject(error);
          else resolve(match);
        };
        handle.onLine.add(listener);
        handle.exited.then((result) =>
          finish(new Error(`${label}: exited (${describeExit(result)}) before printing ${pattern}${tail(handle)}`)),
        );
      });
    },
  };
  const append = (stream) => (chunk) => {
    if (handle[stream].length < MAX_CAPTURE) handle[stream] += chunk;
    for (const listener of handle.onLine) listener();
  };
  reaper.stdout.setEncoding('utf8').on('data', append('stdout'));
  reaper.stderr.setEncoding('utf8').on('data', append('stderr'));
  handle.exited = new Promise((resolve) => {
    let reported;
    reaper.on('message', (message) => {
      if (message?.reaper === 'started') handle.pid = message.pid;
      if (message?.reaper === 'exit') reported = message;
      if (message?.reaper === 'error') reported = { code: 127, signal: null, error: message.message };
    });
    reaper.on('exit', (code) => {
      handle.done = true;
      live.delete(handle);
      // Wait for the pipes to drain, so callers see the whole output.
      let open = 2;
      const settle = () => {
        if (--open > 0) return;
        handle.leftovers = reported?.leftovers ?? false;
        resolve(reported ?? { code, signal: null });
      };
      if (reaper.stdout.readableEnded) settle();
      else reaper.stdout.once('end', settle);
      if (reaper.stderr.readableEnded) settle();
      else reaper.stderr.once('end', settle);
    });
  });
  live.add(handle);
  return handle;
}

/** Runs a command to completion; rejects when it fails or outlives `timeoutMs`. */
export async function run(
  command,
  args,
  { cwd, env, timeoutMs, label = `${command} ${args.join(' ')}`, allowFailure = false },
) {
  const started = performance.now();
  const handle = spawnGuarded(command, args, { cwd, env, label });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    handle.signal('SIGKILL', { group: true });
  }, timeoutMs);
  const result = await handle.exited;
  clearTimeout(timer);
  const outcome = { ...result, stdout: handle.stdout, stderr: handle.stderr, ms: performance.now() - started };
  if (timedOut) throw new Error(`${label}: killed after ${timeoutMs / 1000} s${tail(handle)}`);
  if (!allowFailure && result.code !== 0) throw new Error(`${label}: ${describeExit(result)}${tail(handle)}`);
  return outcome;
}

export function describeExit({ code, signal, error }) {
  if (error) return `could not start: ${error}`;
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}

export function tail(handle, lines = 25) {
  const pick = (text) => text.trimEnd().split('\n').slice(-lines).join('\n');
  const out = [];
  if (handle.stdout.trim()) out.push(`--- stdout (tail) ---\n${pick(handle.stdout)}`);
  if (handle.stderr.trim()) out.push(`--- stderr (tail) ---\n${pick(handle.stderr)}`);
  return out.length ? `\n${out.join('\n')}` : '';
}

/**
 * Kills every process group still alive, synchronously: safe in an 'exit'
 * handler. Only processes this test started are touched, by their ids.
 */
export function killAllSync() {
  for (const handle of live) {
    if (handle.pid) {
      try {
        process.kill(-handle.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      handle.reaper.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const pid of bareGroups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  bareGroups.clear();
}

/** Kills what is left and waits (briefly) for the reapers to report their exit. */
export async function stopAll(ms = 5_000) {
  const pending = [...live];
  for (const handle of pending) handle.signal('SIGKILL', { group: true });
  await Promise.race([
    Promise.all(pending.map((handle) => handle.exited)),
    new Promise((resolve) => setTimeout(resolve, ms).unref()),
  ]);
  killAllSync();
}
