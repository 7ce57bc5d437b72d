import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const NATS_SERVER = 'nats-server';

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

/** The nats-server executable on PATH; null when there is none. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | null {
  return findOnPath(NATS_SERVER, env);
}

/**
 * The one line a user sees when fib-server-nats has no NATS to talk to.
 * Debian's package puts the binary in /usr/sbin, which a regular user's PATH
 * lacks there: the hint says so rather than guess a path.
 */
export const INSTALL_HINT =
  'nats-server was not found on PATH: install it (Debian/Ubuntu: apt-get install nats-server, which puts it in /usr/sbin) or pass --nats URL of a running NATS server';
