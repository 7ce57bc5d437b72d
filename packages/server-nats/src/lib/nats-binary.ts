import { findOnPath } from '@fib/core';

export const NATS_SERVER = 'nats-server';

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
