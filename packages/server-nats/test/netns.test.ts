// Hosts simulated with network namespaces made for this test: NATS, a
// front-end and two worker hosts, each in a namespace of its own, joined by a
// bridge in a fifth one (nothing is added to the machine's own network). The
// client runs in the front-end's namespace. Needs root and iproute2 (CI runs
// as root); skipped elsewhere.
import './helpers/reap.js';
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tiedToParent } from '@fib/server-nats/testing';
import { binPath, cpuTicks, until } from '@fib/testkit';

const canRun = process.getuid?.() === 0 && spawnSync('ip', ['-V']).status === 0;
/** Names unique to this run: two runs on one machine must not meet. */
const tag = `fib${process.pid % 100_000}`;
const SWITCH = `${tag}-sw`;
const HOSTS = { nats: '10.213.0.1', front: '10.213.0.2', w1: '10.213.0.3', w2: '10.213.0.4' } as const;
type Host = keyof typeof HOSTS;
const ns = (host: Host) => `${tag}-${host}`;
const processes: ChildProcess[] = [];
/** 0.2 s of CPU: the worker spends that only on a big fib, so the job has reached it. */
const BUSY_TICKS = 20;

const store = mkdtempSync(join(tmpdir(), 'fib-netns-test-'));

function ip(...args: string[]): void {
  const run = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (run.status !== 0) throw new Error(`ip ${args.join(' ')}: ${run.stderr}`);
}

function setUp(): void {
  ip('netns', 'add', SWITCH);
  ip('-n', SWITCH, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', SWITCH, 'link', 'set', 'br0', 'up');
  for (const [host, address] of Object.entries(HOSTS) as [Host, string][]) {
    ip('netns', 'add', ns(host));
    // One cable per host: `eth0` in the host, its other end on the bridge.
    ip('-n', SWITCH, 'link', 'add', `p-${host}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(host));
    ip('-n', SWITCH, 'link', 'set', `p-${host}`, 'master', 'br0', 'up');
    ip('-n', ns(host), 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    ip('-n', ns(host), 'link', 'set', 'eth0', 'up');
    ip('-n', ns(host), 'link', 'set', 'lo', 'up');
  }
}

function tearDown(): void {
  for (const name of [SWITCH, ...Object.keys(HOSTS).map((host) => ns(host as Host))]) {
    spawnSync('ip', ['netns', 'del', name]);
  }
}

/**
 * Runs `command` inside a host's namespace (`ip netns exec` execs it: the pid
 * is the command's), tied to this test process: should ava kill it on a
 * timeout, before the after-hook, the command dies with it.
 */
function runIn(host: Host, command: string, args: readonly string[]): { child: ChildProcess; out: () => string } {
  const tied = tiedToParent({ file: command, args });
  const child = spawn('ip', ['netns', 'exec', ns(host), tied.file, ...tied.args], { stdio: ['pipe', 'pipe', 'pipe'] });
  processes.push(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  return { child, out: () => out };
}

test.after.always(async () => {
  for (const child of processes) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'close');
    }
  }
  if (canRun) tearDown();
  rmSync(store, { recursive: true, force: true });
});

/** A client in the front-end's namespace: sends the lines, prints the answers, exits. */
const CLIENT = `
const net = require('node:net');
const [host, port, ...lines] = process.argv.slice(1);
const socket = net.connect(Number(port), host);
let text = '';
socket.setEncoding('utf8');
socket.on('data', (chunk) => {
  text += chunk;
  if (text.split('\\n').length > lines.length) { process.stdout.write(text); socket.end(); }
});
socket.write(lines.map((line) => line + '\\n').join(''));
`;

(canRun ? test : test.skip)(
  'a front-end, NATS and two worker hosts on a simulated network; a worker host cut off mid-job: its job is answered by the other',
  async (t) => {
    setUp();
    const nats = runIn('nats', 'nats-server', ['-a', HOSTS.nats, '-p', '4222', '-js', '-sd', store]);
    await until(() => nats.out().includes('Server is ready'), 'nats-server is ready');
    const url = `nats://${HOSTS.nats}:4222`;
    const front = runIn('front', process.execPath, [
      binPath('@fib/server-nats', 'fib-server-nats'),
      '--nats',
      url,
      '--workers',
      '0',
      '--host',
      HOSTS.front,
      '--port',
      '25000',
      '--max-n',
      '45',
    ]);
    await until(() => front.out().includes('listening on'), 'the front-end listens');
    const workerBin = binPath('@fib/server-nats', 'fib-worker-nats');
    const w1 = runIn('w1', process.execPath, [workerBin, '--nats', url, '--concurrency', '1']);
    await until(() => w1.out().includes('pulling jobs'), 'worker host 1 pulls');

    const ask = async (...lines: string[]) => {
      const client = runIn('front', process.execPath, ['-e', CLIENT, HOSTS.front, '25000', ...lines]);
      await once(client.child, 'close');
      return client.out().trim().split('\n');
    };
    t.deepEqual(await ask('10', '20', '1'), ['55', '6765', '1']);

    // fib(40) keeps worker host 1 busy for a second or more; then its cable is cut.
    const pending = ask('40');
    const before = cpuTicks(w1.child.pid!);
    await until(() => cpuTicks(w1.child.pid!) - before >= BUSY_TICKS, 'worker host 1 computes');
    ip('-n', SWITCH, 'link', 'set', 'p-w1', 'down');
    const w2 = runIn('w2', process.execPath, [workerBin, '--nats', url, '--concurrency', '1']);
    await until(() => w2.out().includes('pulling jobs'), 'worker host 2 pulls');
    // Host 1 can no longer say it works on the job: after the ack-wait, JetStream gives it to host 2.
    t.deepEqual(await pending, ['102334155']);
    t.deepEqual(await ask('11'), ['89']);
  },
);
