// The chaos run of the worker strategies (@fib/testkit), against
// fib-server-nats with two local workers: one is SIGKILLed every 0.3 to 0.5 s
// under load. Every request must get its fib, or ERR internal when two
// workers died on it; none may hang.
import './helpers/reap.js';
import test from 'ava';
import { CHAOS_DEFAULTS, CHAOS_TARGETS, chaosSeed, formatReport, runChaos, serverStarter } from '@fib/testkit';
import { natsStarter } from './helpers/nats-servers.js';

// The queue strategy's profile (worker processes of the server, sockets kept
// by the server), under this package's bin. NATS runs apart (FIB_NATS), so
// that the server's children are its workers only, as the run counts them.
const target = { ...CHAOS_TARGETS.queue, pkg: '@fib/server-nats', bin: 'fib-server-nats' };
const nats = natsStarter(test);
const start = serverStarter(test, target.pkg, target.bin);

test('a worker SIGKILLed every 0.3-0.5 s under load: nothing hung, wrong or refused, none cut; then full strength, and SIGTERM exits 0 leaving nothing', async (t) => {
  const node = await nats.single();
  const options = { ...CHAOS_DEFAULTS, seed: chaosSeed() };
  const server = await start(['--workers', String(options.workers)], { FIB_NATS: node.url });
  const report = await runChaos(server, target, options);
  t.log(formatReport(report));
  for (const c of report.checks) t.true(c.ok, `${c.name}: ${c.detail}`);
});
