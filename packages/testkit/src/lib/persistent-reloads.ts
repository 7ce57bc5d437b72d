import type { ExecutionContext } from 'ava';
import { fib } from '@fib/core/worker';
import type { ServerRun } from './spawn.js';
import { RawClient } from './raw-client.js';
import { until } from './until.js';

/** Persistent clients, each with one connection for the whole run. */
const CLIENTS = 3;
/** Bound of each client's loop. */
const MAX_REQUESTS = 100_000;
/** The n each client cycles through: cheap requests, all kinds of answer length, none long. */
const N_CYCLE = 26;
/** Answers between two reloads, so that each reload happens under load and the next workers serve. */
const ANSWERS_BETWEEN = 100;

export interface PersistentReloads {
  readonly tally: PersistentTally;
  readonly clients: RawClient[];
}

export interface PersistentTally {
  answered: number;
  /** An answer that was not fib(n). */
  wrong: number;
  /** A request whose connection closed (or failed) before its answer came. */
  lost: number;
}

/**
 * Sends `reloads` SIGHUPs to `server`, one after the other, while persistent
 * clients ask back to back on one connection each, every answer checked.
 * Each SIGHUP goes once the previous reload is reported done and the clients
 * had answers since; `between()` runs after each reload (to collect worker
 * pids, say). A client stops at its first wrong or lost answer. The clients
 * are left open for the caller, who can tell they still are.
 */
export async function reloadsUnderPersistentLoad(
  server: ServerRun,
  reloads: number,
  between: () => void = () => {},
): Promise<PersistentReloads> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => RawClient.connect(server.port)));
  const tally: PersistentTally = { answered: 0, wrong: 0, lost: 0 };
  let stop = false;
  const loops = clients.map(async (client, c) => {
    for (let i = 0; i < MAX_REQUESTS && !stop; i++) {
      const n = (i + c) % N_CYCLE;
      const answer = await client.ask(String(n)).catch(() => null);
      if (answer === null) {
        tally.lost++;
        return;
      }
      if (answer !== String(fib(n))) {
        tally.wrong++;
        return;
      }
      tally.answered++;
    }
  });
  const done = () => server.stderr().match(/reload done/g)?.length ?? 0;
  const failed = () => tally.wrong + tally.lost > 0;
  try {
    for (let reload = 1; reload <= reloads; reload++) {
      const before = tally.answered;
      await until(() => tally.answered >= before + ANSWERS_BETWEEN || failed(), 'the clients are answered');
      if (failed()) break;
      server.child.kill('SIGHUP');
      await until(() => done() === reload, `reload ${reload} is done`);
      between();
    }
    const last = tally.answered;
    await until(() => tally.answered >= last + ANSWERS_BETWEEN || failed(), 'the last workers serve');
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  return { tally, clients };
}

/**
 * The checks every strategy's run of `reloadsUnderPersistentLoad` shares: no
 * request lost, every answer right, every client still connected; with
 * `generations` (the worker pids before the first reload and after each),
 * `size` workers each time, all of them new. Then it closes the clients.
 */
export function checkPersistentReloads(
  t: ExecutionContext,
  { tally, clients }: PersistentReloads,
  workers?: { readonly generations: readonly (readonly number[])[]; readonly size: number },
): void {
  t.log(tally);
  t.is(tally.lost, 0);
  t.is(tally.wrong, 0);
  t.true(tally.answered > 0);
  const generations = workers?.generations ?? [];
  for (let i = 1; i < generations.length; i++) {
    t.is(generations[i]!.length, workers!.size, `reload ${i}: the old workers are gone, the new ones run`);
    t.false(
      generations[i]!.some((pid) => generations[i - 1]!.includes(pid)),
      `reload ${i}: every worker pid is new`,
    );
  }
  t.false(
    clients.some((client) => client.ended),
    'every client kept its connection',
  );
  for (const client of clients) client.end();
}
