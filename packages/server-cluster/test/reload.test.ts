import test from 'ava';
import { readFileSync } from 'node:fs';
import {
  checkPersistentReloads,
  descendants,
  RawClient,
  reloadsUnderPersistentLoad,
  serverStarter,
  type ServerRun,
  until,
} from '@fib/testkit';

const startServer = serverStarter(test, '@fib/server-cluster', 'fib-server-cluster');

/** The direct children of the primary that run the cluster's worker entry. */
const workersOf = (server: ServerRun) =>
  descendants(server.pid).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return (
        ppid === server.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('server-cluster/dist/worker.js')
      );
    } catch {
      return false;
    }
  });

/** Clients making one request per connection, at once. */
const LOOPS = 4;
/** Bounds of the load: connections per loop, and seconds in all. */
const MAX_CONNECTIONS_PER_LOOP = 20_000;
const MAX_LOAD_MS = 60_000;

interface Tally {
  answered: number;
  refused: number;
  unanswered: number;
}

/** Short connections, one request each, until `stop()`; counts what each connection got. */
function shortConnections(port: number) {
  const tally: Tally = { answered: 0, refused: 0, unanswered: 0 };
  let stopped = false;
  const started = Date.now();
  const loops = Array.from({ length: LOOPS }, async () => {
    for (let i = 0; i < MAX_CONNECTIONS_PER_LOOP && !stopped && Date.now() - started < MAX_LOAD_MS; i++) {
      let client: RawClient;
      try {
        client = await RawClient.connect(port);
      } catch {
        tally.refused++;
        continue;
      }
      const answer = await client.ask('7').catch(() => null);
      if (answer === '13') tally.answered++;
      else tally.unanswered++;
      client.end();
    }
  });
  return {
    tally,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return tally;
    },
  };
}

const reloadsDone = (server: ServerRun) => server.stderr().match(/reload done/g)?.length ?? 0;

test('SIGHUP under load from short connections: every worker replaced, none refused or unanswered', async (t) => {
  const server = await startServer(['--workers', '2']);
  await until(() => workersOf(server).length === 2, 'two workers run');
  const before = workersOf(server);
  const load = shortConnections(server.port);
  await until(() => load.tally.answered >= 50, 'the load is running');
  server.child.kill('SIGHUP');
  await until(() => reloadsDone(server) === 1, 'the reload is done');
  const atReload = load.tally.answered;
  await until(() => load.tally.answered >= atReload + 50, 'the new workers serve');
  const tally = await load.stop();
  t.log(tally);
  t.is(tally.refused, 0);
  t.is(tally.unanswered, 0);
  const after = workersOf(server);
  t.is(after.length, 2);
  t.false(
    after.some((pid) => before.includes(pid)),
    'every worker pid is new',
  );
  t.is(server.child.exitCode, null, 'the primary, same pid, still runs');
  t.regex(server.stderr(), /SIGHUP/);
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});

test('a SIGHUP during a reload is queued: two reloads, one after the other', async (t) => {
  const server = await startServer(['--workers', '2']);
  await until(() => workersOf(server).length === 2, 'two workers run');
  const first = workersOf(server);
  server.child.kill('SIGHUP');
  await until(() => /SIGHUP/.test(server.stderr()), 'the first reload began');
  server.child.kill('SIGHUP');
  await until(() => reloadsDone(server) === 2, 'both reloads are done');
  t.regex(server.stderr(), /queued/);
  const last = workersOf(server);
  t.is(last.length, 2);
  t.false(last.some((pid) => first.includes(pid)));
  const client = await RawClient.connect(server.port);
  t.is(await client.ask('10'), '55');
  client.end();
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});

test('a connection open across the reload stays open: a request computing then is answered, the next ones too', async (t) => {
  const server = await startServer(['--workers', '2']);
  await until(() => workersOf(server).length === 2, 'two workers run');
  const before = workersOf(server);
  const client = await RawClient.connect(server.port);
  t.is(await client.ask('1'), '1');
  // A request that is computing when the reload retires its worker is answered there.
  await client.write('30\n');
  server.child.kill('SIGHUP');
  t.is(await client.line(), '832040');
  // Half a request before the reload is done, the rest after: the new worker
  // parses the bytes the old one read.
  await client.write('2');
  await until(() => reloadsDone(server) === 1, 'the reload is done');
  t.false(
    workersOf(server).some((pid) => before.includes(pid)),
    'the old workers are gone',
  );
  await client.write('0\n');
  t.is(await client.line(), '6765');
  t.is(await client.ask('10'), '55');
  t.false(client.ended, 'the connection is still open');
  client.end();
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});

test('SIGHUP three times under persistent clients: none loses a request, every answer right, every worker new', async (t) => {
  const server = await startServer(['--workers', '2']);
  await until(() => workersOf(server).length === 2, 'two workers run');
  const generations = [workersOf(server)];
  const run = await reloadsUnderPersistentLoad(server, 3, () => generations.push(workersOf(server)));
  checkPersistentReloads(t, run, { generations, size: 2 });
  t.is(reloadsDone(server), 3);
  t.notRegex(server.stderr(), /not given back/, 'every connection went back at a quiet point');
  t.is(server.child.exitCode, null, 'the primary, same pid, still runs');
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});

test('SIGTERM during a reload under persistent clients: every request answered or its connection closed, exit 0', async (t) => {
  const server = await startServer(['--workers', '2']);
  await until(() => workersOf(server).length === 2, 'two workers run');
  const clients = await Promise.all(Array.from({ length: 3 }, () => RawClient.connect(server.port)));
  const tally = { answered: 0, wrong: 0, closed: 0 };
  const loops = clients.map(async (client) => {
    for (let i = 0; i < 100_000; i++) {
      const answer = await client.ask('12').catch(() => null);
      if (answer === null) {
        tally.closed++;
        return;
      }
      if (answer === '144') tally.answered++;
      // ERR shutting_down is an answer too: the client is told, then the connection closes.
      else if (answer !== 'ERR shutting_down') tally.wrong++;
    }
  });
  await until(() => tally.answered >= 100, 'the clients are answered');
  server.child.kill('SIGHUP');
  await until(() => /SIGHUP/.test(server.stderr()), 'the reload began');
  t.deepEqual(await server.stop(), { code: 0, signal: null });
  await Promise.all(loops);
  t.log(tally);
  t.is(tally.wrong, 0);
  t.is(tally.closed, 3, 'every connection is closed');
});
