import test from 'ava';
import { fork } from 'node:child_process';
import { processHandle, ServerMetrics, WorkerMetrics } from '@fib/core';

/** A worker process that counted `ok` answers, answers scrapes, and on 'last' sends its last counts and exits. */
const WORKER = `
import { answerMetrics, ServerMetrics } from '@fib/core';
const metrics = new ServerMetrics({ processMetrics: false });
metrics.stats.codes[0] = Number(process.argv.at(-1));
metrics.stats.duration.observe(0.001, metrics.stats.codes[0]);
const { sendLast } = answerMetrics(metrics);
process.on('message', (m) => { if (m === 'last') sendLast(() => process.exit(0)); });
process.send('up');
`;

function startWorker(ok: number) {
  const child = fork('--input-type=module', [String(ok)], {
    execArgv: ['--input-type=module', '-e', WORKER],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const up = new Promise<void>((resolve) => child.once('message', () => resolve()));
  return { child, handle: processHandle(child), up };
}

const okCount = async (metrics: ServerMetrics) =>
  Number(/fib_requests_total\{code="ok"\} (\d+)/.exec(await metrics.text())?.[1]);

test('a parent sums its workers on every scrape, and keeps the last counts of one that ended', async (t) => {
  const metrics = new ServerMetrics({ processMetrics: false });
  const remote = new WorkerMetrics(metrics);
  const a = startWorker(5);
  const b = startWorker(7);
  t.teardown(() => {
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
  });
  await Promise.all([a.up, b.up]);
  remote.attach(a.handle);
  remote.attach(b.handle);
  metrics.stats.codes[0] = 1;
  t.is(await okCount(metrics), 13);
  t.is(await okCount(metrics), 13, 'a second scrape counts the same');
  a.child.send('last');
  await a.handle.exited;
  t.is(await okCount(metrics), 13, 'what the ended worker counted is still there, once');
  t.is(Number(/fib_request_duration_seconds_count (\d+)/.exec(await metrics.text())?.[1]), 12);
});
