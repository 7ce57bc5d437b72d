// Children tied to the process that starts them: Linux's parent-death
// signal, set by util-linux's setpriv before it execs the program (the pid is
// the program's own). Used for the nats-server a front-end keeps, and by the
// test kit for every bin a test starts, so that nothing outlives a process
// that was SIGKILLed before its clean-up could run.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The executable `name` on PATH; null when there is none. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** A program and its arguments, as `spawn` takes them. */
export interface Command {
  readonly file: string;
  readonly args: readonly string[];
}

/** How long the one-off check that setpriv works may take (it runs `true`: a few ms). */
const PROBE_TIMEOUT_MS = 5000;

let setpriv: string | null | undefined;

/**
 * util-linux's setpriv, if it is on PATH and may set a parent-death signal
 * here (a locked-down container can refuse the prctl); looked up once.
 */
function usableSetpriv(): string | null {
  if (setpriv !== undefined) return setpriv;
  const file = findOnPath('setpriv');
  setpriv =
    file !== null &&
    spawnSync(file, ['--pdeathsig', 'SIGKILL', '--', 'true'], { stdio: 'ignore', timeout: PROBE_TIMEOUT_MS }).status ===
      0
      ? file
      : null;
  return setpriv;
}

/**
 * `command`, run so that the kernel SIGKILLs it when the process that spawns
 * it dies, whatever the way (SIGKILL included, when no exit handler of ours
 * runs): Linux's parent-death signal, which setpriv sets before it execs the
 * program, so the child's pid is the program's own. Without a usable setpriv
 * (not Linux, a minimal image), `command` as it is: the spawner's exit
 * handlers are then the only clean-up.
 */
export function tiedToParent(command: Command): Command {
  const file = usableSetpriv();
  if (file === null) return command;
  return { file, args: ['--pdeathsig', 'SIGKILL', '--', command.file, ...command.args] };
}
