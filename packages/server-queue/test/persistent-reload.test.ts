import test from 'ava';
import { checkPersistentReloads, descendants, reloadsUnderPersistentLoad, serverStarter, until } from '@fib/testkit';

const startServer = serverStarter(test, '@fib/server-queue', 'fib-server-queue');

// The connections live in the primary: a reload only changes where their jobs run.
test('SIGHUP three times under persistent clients: none loses a request, every answer right, every worker new', async (t) => {
  const server = await startServer(['--workers', '2']);
  await until(() => descendants(server.pid).length === 2, 'two workers run');
  const generations = [descendants(server.pid)];
  const run = await reloadsUnderPersistentLoad(server, 3, () => generations.push(descendants(server.pid)));
  checkPersistentReloads(t, run, { generations, size: 2 });
  t.deepEqual(await server.stop(), { code: 0, signal: null });
});
