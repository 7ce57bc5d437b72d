import test from 'ava';
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';

test('notifyReady does nothing without an IPC channel', async (t) => {
  // Not in this process: an ava worker has an IPC channel to ava.
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import { notifyReady } from '@fib/core'; process.stdout.write(String(notifyReady()));",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  await once(child, 'close');
  t.is(out, 'false');
});

test("notifyReady sends 'ready' to a parent that forked us with IPC (pm2 wait_ready)", async (t) => {
  const child = fork('--input-type=module', [], {
    execArgv: [
      '--input-type=module',
      '-e',
      "import { notifyReady } from '@fib/core'; notifyReady(); process.disconnect();",
    ],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const [message] = (await once(child, 'message')) as [unknown];
  t.is(message, 'ready');
  await once(child, 'exit');
});
