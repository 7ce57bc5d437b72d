// deploy/haproxy/fib.cfg, run by the real haproxy on loopback ports in front
// of two real fib-server-nats front-ends that share one nats-server.
import './helpers/reap.js';
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawClient, serverStarter } from '@fib/testkit';
import { freePort, natsStarter } from './helpers/nats-servers.js';

const CONFIG = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'deploy', 'haproxy', 'fib.cfg');
const nats = natsStarter(test);
const startFrontEnd = serverStarter(test, '@fib/server-nats', 'fib-server-nats');
let haproxy: ChildProcess | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'fib-haproxy-test-'));
test.after.always(async () => {
  if (haproxy !== undefined && haproxy.exitCode === null) {
    haproxy.kill('SIGKILL');
    await once(haproxy, 'exit');
  }
  rmSync(scratch, { recursive: true, force: true });
});

/** `show stat` from HAProxy's stats socket: per server, its status and sessions. */
async function serverStats(socket: string): Promise<Map<string, { status: string; current: number; total: number }>> {
  const text = await new Promise<string>((resolve, reject) => {
    const client = connect(socket);
    let out = '';
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => (out += chunk));
    client.on('end', () => resolve(out));
    client.on('error', reject);
    client.end('show stat\n');
  });
  const [header, ...rows] = text.trim().split('\n');
  const columns = header!.replace(/^# /, '').split(',');
  const at = (name: string) => columns.indexOf(name);
  const stats = new Map<string, { status: string; current: number; total: number }>();
  for (const row of rows) {
    const cells = row.split(',');
    if (cells[at('pxname')] !== 'fib-front-ends' || !/^fe\d$/.test(cells[at('svname')]!)) continue;
    stats.set(cells[at('svname')]!, {
      status: cells[at('status')]!,
      current: Number(cells[at('scur')]),
      total: Number(cells[at('stot')]),
    });
  }
  return stats;
}

test('two front-ends behind HAProxy: leastconn spreads connections; a killed one is taken out and new connections go to the other', async (t) => {
  const node = await nats.single();
  const [fe1, fe2] = await Promise.all([
    startFrontEnd(['--nats', node.url, '--workers', '1']),
    startFrontEnd(['--nats', node.url, '--workers', '1']),
  ]);
  const listen = await freePort();
  const socket = join(scratch, 'stats.sock');
  haproxy = spawn('haproxy', ['-f', CONFIG, '-db'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      FIB_LISTEN: `127.0.0.1:${listen}`,
      FIB_FRONT_END_1: `127.0.0.1:${fe1.port}`,
      FIB_FRONT_END_2: `127.0.0.1:${fe2.port}`,
      FIB_HAPROXY_SOCKET: socket,
    },
  });
  let log = '';
  haproxy.stderr!.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const both = async (status: string) => {
    const stats = await serverStats(socket).catch(() => new Map());
    return stats.get('fe1')?.status === status && stats.get('fe2')?.status === status;
  };
  // The health check (send "0\n", expect "0") must pass through the protocol, NATS and a worker.
  let up = false;
  for (let i = 0; i < 300 && !up; i++) {
    up = await both('UP');
    if (!up) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.true(up, `both front-ends UP; haproxy said: ${log}`);

  // leastconn: four long-lived connections, two on each front-end.
  const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(listen)));
  for (const client of clients) t.is(await client.ask('20'), '6765');
  const spread = await serverStats(socket);
  t.is(spread.get('fe1')!.current, 2);
  t.is(spread.get('fe2')!.current, 2);
  for (const client of clients) client.end();

  const killedAt = Date.now();
  await fe1.stop('SIGKILL');
  // New connections are answered all along: one refused by the dead front-end is redispatched.
  let served = 0;
  let down = false;
  while (!down) {
    const client = await RawClient.connect(listen);
    if ((await client.ask('15')) === '610') served++;
    client.end();
    down = (await serverStats(socket)).get('fe1')?.status.startsWith('DOWN') ?? false;
    t.true(Date.now() - killedAt < 30_000, 'fe1 is taken out within a bound');
    if (Date.now() - killedAt > 30_000) return;
  }
  t.log(
    `fe1 marked DOWN ${Date.now() - killedAt} ms after its SIGKILL (check: inter 1s, fall 2); ${served} connections served meanwhile`,
  );
  const before = (await serverStats(socket)).get('fe2')!.total;
  for (let i = 0; i < 10; i++) {
    const client = await RawClient.connect(listen);
    t.is(await client.ask('10'), '55');
    client.end();
  }
  t.is((await serverStats(socket)).get('fe2')!.total, before + 10, 'every new connection went to fe2');
});
