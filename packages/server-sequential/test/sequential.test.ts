import test from 'ava';
import { killIfRunning, RawClient, startBin, type ServerRun } from '@fib/testkit';

let server: ServerRun | undefined;
test.after.always(() => killIfRunning(server));

test('a later connection waits, unread, until the current one closes', async (t) => {
  server = await startBin('@fib/server-sequential', 'fib-server-sequential');
  const first = await RawClient.connect(server.port);
  t.is(await first.ask('1'), '1');
  const second = await RawClient.connect(server.port);
  await second.write('10\n');
  // Several round trips on the first connection while the second one waits.
  for (let i = 0; i < 5; i++) t.is(await first.ask('20'), '6765');
  t.is(second.rest, '');
  t.false(second.ended);
  const third = await RawClient.connect(server.port);
  await third.write('11\n');
  first.end();
  t.is(await second.line(), '55');
  t.is(third.rest, '', 'the third waits for the second');
  second.end();
  t.is(await third.line(), '89');
  third.end();
});

test('waiting connections are told the server is shutting down', async (t) => {
  const own = await startBin('@fib/server-sequential', 'fib-server-sequential');
  try {
    const first = await RawClient.connect(own.port);
    t.is(await first.ask('2'), '1');
    const waiting = await RawClient.connect(own.port);
    await waiting.write('3\n');
    const exit = own.stop('SIGTERM');
    t.regex((await waiting.line())!, /^ERR shutting_down /);
    t.is(await first.line(), null, 'the idle served connection is closed');
    t.deepEqual(await exit, { code: 0, signal: null });
  } finally {
    await killIfRunning(own);
  }
});
