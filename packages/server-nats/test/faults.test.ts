// Faults of the work queue across hosts, against real processes: the
// front-end and the workers are the real bins, NATS is a real nats-server
// that each test starts for itself on a free loopback port.
import './helpers/reap.js';
import test from 'ava';
import { RawClient, isAlive, runBin, serverStarter, until, untilOneComputes, type BinRun } from '@fib/testkit';
import { natsStarter, streamLeader } from './helpers/nats-servers.js';

const PKG = '@fib/server-nats';
const nats = natsStarter(test);
const startFrontEnd = serverStarter(test, PKG, 'fib-server-nats');
const workers: BinRun[] = [];
test.after.always(() => {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
});

/** A fib-worker-nats process (a "remote host"), once it pulls. */
async function startWorker(url: string, concurrency = 1): Promise<BinRun> {
  const worker = runBin(PKG, 'fib-worker-nats', ['--nats', url, '--concurrency', String(concurrency)]);
  workers.push(worker);
  await worker.waitFor(/pulling jobs/);
  return worker;
}

/** Once the worker has spent 0.2 s of CPU: only a big fib takes that, so the job has reached it. */
const untilComputing = (pid: number) => untilOneComputes([pid], `worker ${pid} is computing`);

test('a worker SIGKILLed mid-job: the job is redelivered to another worker and answered', async (t) => {
  const node = await nats.single();
  const server = await startFrontEnd(['--nats', node.url, '--workers', '0']);
  const first = await startWorker(node.url);
  const client = await RawClient.connect(server.port);
  await client.write('38\n');
  await untilComputing(first.pid);
  first.child.kill('SIGKILL');
  await first.exited;
  await startWorker(node.url);
  t.is(await client.line(30_000), '39088169');
  t.is(await client.ask('10'), '55');
  client.end();
});

test('a job whose worker is SIGKILLed twice is answered ERR internal; the connection goes on', async (t) => {
  const node = await nats.single();
  const server = await startFrontEnd(['--nats', node.url, '--workers', '0']);
  const client = await RawClient.connect(server.port);
  await client.write('40\n');
  for (let death = 0; death < 2; death++) {
    const worker = await startWorker(node.url);
    await untilComputing(worker.pid);
    worker.child.kill('SIGKILL');
    await worker.exited;
  }
  // The third delivery reaches a live worker, which reads the count and answers.
  await startWorker(node.url);
  t.is(await client.line(30_000), 'ERR internal the worker computing this request died, twice');
  t.is(await client.ask('11'), '89');
  client.end();
});

test('a closed connection: its job in hand is stopped and the rest never computed', async (t) => {
  const node = await nats.single();
  // Two jobs per connection in the stream (the window is --workers, cores: 2
  // here): fib(44) and fib(43); fib(42) waits at the front-end.
  const server = await startFrontEnd(['--nats', node.url, '--workers', '0', '--max-n', '45']);
  const worker = await startWorker(node.url);
  const leaver = await RawClient.connect(server.port);
  await leaver.write('44\n43\n42\n');
  await untilComputing(worker.pid);
  leaver.destroy();
  // fib(44) takes minutes: an answer to another client within the bound
  // means the worker dropped it, and skipped fib(43) too.
  const stayer = await RawClient.connect(server.port);
  t.is(await stayer.ask('20'), '6765');
  t.true(isAlive(worker.pid));
  stayer.end();
});

test('NATS lost: a pending request is answered ERR busy within the bound, new ones ERR busy, and the front-end recovers', async (t) => {
  const node = await nats.single();
  const server = await startFrontEnd(['--nats', node.url, '--workers', '0', '--max-n', '45']);
  // Two slots: the one computing fib(44) hears of its cancel only once NATS is back.
  const worker = await startWorker(node.url, 2);
  const client = await RawClient.connect(server.port);
  t.is(await client.ask('20'), '6765');
  await client.write('44\n');
  await untilComputing(worker.pid);
  await node.kill('SIGKILL');
  // The front-end's outage grace is 8 s: the answer must come well within the line's bound.
  t.regex((await client.line(30_000))!, /^ERR busy /);
  t.regex((await client.ask('5'))!, /^ERR busy /);
  await node.restart();
  // Reconnection is retried every quarter second: ask until served (bounded).
  let answer: string | null = null;
  for (let attempt = 0; attempt < 100 && answer !== '610'; attempt++) {
    answer = await client.ask('15');
    if (answer !== '610') await new Promise((resolve) => setTimeout(resolve, 200));
  }
  t.is(answer, '610');
  t.regex(server.stderr(), /lost the NATS connection/);
  client.end();
});

test('a three-node NATS cluster loses its stream leader without losing a request', async (t) => {
  const nodes = await nats.cluster(3);
  const urls = nodes.map((node) => node.url).join(',');
  // Its stream needs three nodes' agreement: a front-end waits up to 30 s for it, and says so.
  const server = await startFrontEnd(['--nats', urls, '--replicas', '3', '--workers', '2'], undefined, {
    readyTimeoutMs: 45_000,
  });
  const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(server.port)));
  const ROUNDS = 150;
  let answered = 0;
  const loads = clients.map(async (client, c) => {
    const wrong: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const n = 15 + ((i + c) % 8);
      const line = await client.ask(String(n));
      answered++;
      if (line !== String(fibOf(n))) wrong.push(`fib(${n}) -> ${line}`);
    }
    return wrong;
  });
  await until(() => answered >= 100, 'the load is flowing', 60_000);
  const leader = await streamLeader(nodes[0]!.url);
  const victim = nodes.find((node) => node.name === leader) ?? nodes[0]!;
  await victim.kill('SIGKILL');
  const wrong = (await Promise.all(loads)).flat();
  t.deepEqual(wrong, []);
  t.is(answered, ROUNDS * clients.length);
  for (const client of clients) client.end();
});

function fibOf(n: number): number {
  let [a, b] = [0, 1];
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

test('a front-end SIGKILLed with a long job in the queue: the worker drops it instead of computing it for nobody', async (t) => {
  const node = await nats.single();
  const doomed = await startFrontEnd(['--nats', node.url, '--workers', '0', '--max-n', '60']);
  const worker = await startWorker(node.url);
  const client = await RawClient.connect(doomed.port);
  // fib(55) runs for hours: only a check that its front-end is gone ends it.
  await client.write('55\n');
  await untilComputing(worker.pid);
  await doomed.stop('SIGKILL');
  client.destroy();
  const other = await startFrontEnd(['--nats', node.url, '--workers', '0']);
  const asker = await RawClient.connect(other.port);
  t.is(await asker.line(0).catch(() => null), null);
  await asker.write('30\n');
  t.is(await asker.line(30_000), '832040');
  asker.end();
});
