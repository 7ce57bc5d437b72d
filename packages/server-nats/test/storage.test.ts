// --storage: where the stream keeps its jobs when the front-end creates it.
// Memory by default (the front-end holds every job until it is answered and
// publishes it again after a reconnect); file on request.
import './helpers/reap.js';
import test from 'ava';
import { RawClient, runBin, serverStarter } from '@fib/testkit';
import { natsStarter } from './helpers/nats-servers.js';

const nats = natsStarter(test);
const start = serverStarter(test, '@fib/server-nats', 'fib-server-nats');

async function storageOf(url: string): Promise<string> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: url });
  try {
    return (await (await jetstreamManager(nc)).streams.info('FIB_JOBS')).config.storage;
  } finally {
    await nc.close();
  }
}

for (const [args, env, expected] of [
  [[], {}, 'memory'],
  [['--storage', 'file'], {}, 'file'],
  [[], { FIB_STORAGE: 'file' }, 'file'],
] as const) {
  test(`${args.join(' ') || JSON.stringify(env)}: the stream is created with ${expected} storage, and serves`, async (t) => {
    const node = await nats.single();
    const server = await start(['--nats', node.url, '--workers', '1', ...args], env);
    const client = await RawClient.connect(server.port);
    t.is(await client.ask('20'), '6765');
    client.end();
    t.is(await storageOf(node.url), expected);
  });
}

test('--storage takes memory or file only: anything else is a usage error, exit 2', async (t) => {
  const run = runBin('@fib/server-nats', 'fib-server-nats', ['--storage', 'disk', '--nats', 'nats://127.0.0.1:1']);
  t.deepEqual(await run.exited, { code: 2, signal: null });
  t.regex(run.stderr(), /--storage must be memory or file \(got "disk"\)/);
  const help = runBin('@fib/server-nats', 'fib-server-nats', ['--help']);
  await help.exited;
  t.regex(help.stdout(), /--storage memory\|file/);
});
