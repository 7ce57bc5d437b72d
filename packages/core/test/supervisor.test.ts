import test from 'ava';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HandoffPort,
  processHandle,
  Supervisor,
  WorkerStartError,
  type ServerEvent,
  type SupervisorOptions,
  type WorkerHandle,
} from '@fib/core';

/** Worker scripts for the tests: tiny CommonJS files, each one behaviour. */
const dir = mkdtempSync(join(tmpdir(), 'fib-supervisor-'));
const script = (name: string, body: string) => {
  const file = join(dir, `${name}.cjs`);
  writeFileSync(file, `process.on('disconnect', () => process.exit(0));\n${body}\n`);
  return file;
};
const READY = "process.send({ '@fib': 'ready' });";
const healthy = script(
  'healthy',
  `${READY}\nprocess.on('message', (m) => { if (m['@fib'] === 'drain') process.exit(0); });`,
);
const crashing = script('crashing', 'process.exit(3);');
const silent = script('silent', 'setInterval(() => {}, 1000);');
const stubborn = script('stubborn', `process.on('SIGTERM', () => {});\n${READY}\nsetInterval(() => {}, 1000);`);
/** Serves a handed socket: acknowledges, then answers one line. */
const host = script(
  'host',
  `${READY}
const net = require('node:net');
process.on('message', (m, handle) => {
  if (m['@fib'] !== 'socket') return;
  process.send({ '@fib': 'adopted', id: m.id }, () => {
    const socket = new net.Socket({ handle, readable: true, writable: true });
    socket.end('served by ' + process.pid + '\\n');
  });
});`,
);
/**
 * Says ready, then "spinning", and never reads its channel again (a loop that
 * never ends, begun once that message is written and before any message is
 * read), so a handoff sent after "spinning" is never acknowledged.
 */
const stuck = script(
  'stuck',
  `${READY}\nsetTimeout(() => process.send({ '@fib': 'spinning' }, () => { for (;;) {} }), 50);`,
);

const start = (file: string) => () => processHandle(fork(file, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] }));

function supervisor(file: string, options: Partial<SupervisorOptions> = {}) {
  const events: ServerEvent[] = [];
  const s = new Supervisor({ name: 'test worker', spawn: start(file), report: (e) => events.push(e), ...options });
  return { s, events };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 800 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  if (!check()) throw new Error(`timed out waiting until ${what}`);
}

test('a sized pool starts, replaces a worker killed from outside at once, and stops', async (t) => {
  const { s, events } = supervisor(healthy, { size: 2 });
  await s.start();
  t.is(s.ready.length, 2);
  const [victim] = s.ready;
  const replaced = once(s, 'ready');
  process.kill(victim!.id, 'SIGKILL');
  const [fresh] = (await replaced) as [WorkerHandle];
  t.not(fresh.id, victim!.id);
  await until(() => s.ready.length === 2, 'two workers are ready again');
  t.true(events.some((e) => e.event === 'worker-died' && e.msg.includes(`${victim!.id} died (SIGKILL); replacing it`)));
  const pids = s.ready.map((w) => w.id);
  await s.stop();
  t.false(pids.some(alive), 'no worker outlives stop()');
});

test('workers that cannot start fail the start after three in a row, and nothing is left', async (t) => {
  const { s, events } = supervisor(crashing, { size: 2 });
  const error = await t.throwsAsync(s.start(), { instanceOf: WorkerStartError });
  t.regex(error.message, /test workers cannot start: 3 in a row exited before they were ready \(last: exit code 3\)/);
  t.is(error.code, 'FIB_WORKER_START');
  t.true(events.filter((e) => e.event === 'worker-start-failed').length >= 3);
  t.is(s.size, 0);
});

test('a worker that never says it is ready is killed at the timeout and counts as a failed start', async (t) => {
  const { s, events } = supervisor(silent, { readyTimeoutMs: 200 });
  const { worker, ready } = s.add();
  await t.throwsAsync(ready, { instanceOf: WorkerStartError });
  t.false(alive(worker.id));
  t.true(events.some((e) => e.event === 'worker-start-timeout'));
  const fatal = once(s, 'fatal');
  s.add();
  s.add();
  await fatal;
  t.truthy(s.failed);
});

test('stop() escalates to SIGKILL for a worker that ignores SIGTERM', async (t) => {
  const { s, events } = supervisor(stubborn, { size: 1, stopGraceMs: 200 });
  await s.start();
  const [worker] = s.ready;
  await s.stop();
  t.false(alive(worker!.id));
  t.true(events.some((e) => e.event === 'worker-kill' && e.msg.includes('ignored SIGTERM for 200 ms; SIGKILL')));
});

test('rotate() starts the replacement first, then drains the old worker, which is not replaced', async (t) => {
  const { s, events } = supervisor(healthy, { size: 1 });
  await s.start();
  const [old] = s.ready;
  await s.rotate(old!);
  t.false(alive(old!.id));
  await until(() => s.size === 1 && s.ready.length === 1, 'one worker runs');
  t.not(s.ready[0]!.id, old!.id);
  t.false(
    events.some((e) => e.event === 'worker-died'),
    'the old worker ended as asked',
  );
  await s.stop();
});

test('an on-demand worker that ends cleanly is neither reported nor replaced', async (t) => {
  const { s, events } = supervisor(healthy);
  const { worker, ready } = s.add();
  await ready;
  worker.send({ '@fib': 'drain' });
  await worker.exited;
  t.is(s.size, 0);
  t.deepEqual(events, []);
});

/** A connected pair: the server side is paused and never read (as the server scaffold accepts). */
async function acceptedSocket(): Promise<{ server: Socket; client: Socket; close: () => void }> {
  const listener = createServer({ pauseOnConnect: true });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const port = (listener.address() as { port: number }).port;
  const accepted = once(listener, 'connection');
  const client = connect(port, '127.0.0.1');
  const [server] = (await accepted) as [Socket];
  return { server, client, close: () => listener.close() };
}

test('a socket handed to a worker that dies before taking it comes back whole, for another worker', async (t) => {
  const { s } = supervisor(stuck);
  const first = s.add();
  const spinning = new Promise<void>((resolve) =>
    first.worker.onMessage((message) => {
      if ((message as { '@fib'?: string })['@fib'] === 'spinning') resolve();
    }),
  );
  await first.ready;
  const { server, client, close } = await acceptedSocket();
  client.setEncoding('utf8');
  let answer = '';
  client.on('data', (d) => (answer += d));
  let released = 0;
  const release = () => released++;
  await spinning;
  const handed = new HandoffPort(first.worker, () => {}).give(server, release);
  process.kill(first.worker.id, 'SIGKILL');
  t.false(await handed, 'not taken');
  t.false(server.destroyed, 'the socket is still ours');
  t.is(released, 0);

  const hosts = supervisor(host);
  const second = hosts.s.add();
  await second.ready;
  t.true(await new HandoffPort(second.worker, () => {}).give(server, release));
  await once(client, 'end');
  t.is(answer, `served by ${second.worker.id}\n`);
  client.destroy();
  close();
  await hosts.s.stop();
  await s.stop();
});
