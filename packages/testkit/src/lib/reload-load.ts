import type { ServerRun } from './spawn.js';
import { RawClient } from './raw-client.js';
import { until } from './until.js';

/** Persistent clients asking in a loop: a pool reload must not be seen by them. */
const CLIENTS = 3;
/** Bound of each client's loop. */
const MAX_REQUESTS = 50_000;

/**
 * Sends SIGHUP to `server` while persistent clients ask fib(15) in a loop,
 * waits until the reload is reported done and the new workers have served,
 * then stops the load. The clients are left open for the caller to end.
 */
export async function reloadUnderLoad(
  server: ServerRun,
): Promise<{ tally: { answered: number; wrong: number }; clients: RawClient[] }> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => RawClient.connect(server.port)));
  const tally = { answered: 0, wrong: 0 };
  let stop = false;
  const loops = clients.map(async (client) => {
    for (let i = 0; i < MAX_REQUESTS && !stop; i++) {
      const answer = await client.ask('15').catch(() => null);
      if (answer === '610') tally.answered++;
      else {
        tally.wrong++;
        return;
      }
    }
  });
  await until(() => tally.answered >= 100, 'the load is running');
  server.child.kill('SIGHUP');
  await until(() => /reload done/.test(server.stderr()), 'the reload is done');
  const atReload = tally.answered;
  await until(() => tally.answered >= atReload + 100 || tally.wrong > 0, 'the new workers serve');
  stop = true;
  await Promise.all(loops);
  return { tally, clients };
}
