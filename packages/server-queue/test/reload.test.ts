import test from 'ava';
import { descendants, reloadUnderLoad, serverStarter, until } from '@fib/testkit';

const startServer = serverStarter(test, '@fib/server-queue', 'fib-server-queue');

test('SIGHUP recycles the pool under load: every worker pid new, no request lost, connections kept', async (t) => {
  const server = await startServer(['--workers', '2']);
  await until(() => descendants(server.pid).length === 2, 'two workers run');
  const before = descendants(server.pid);
  const { tally, clients } = await reloadUnderLoad(server);
  t.log(tally);
  t.is(tally.wrong, 0);
  const after = descendants(server.pid);
  t.is(after.length, 2);
  t.false(
    after.some((pid) => before.includes(pid)),
    'every worker pid is new',
  );
  t.regex(server.stderr(), /reload done in \d+\.\d+ s: 2 workers replaced/);
  for (const client of clients) client.end();
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});
