import test from 'ava';
import { jsonLogger, logReporter, NO_LOG, textLogger, type Logger } from '@fib/core';

function sink() {
  const lines: string[] = [];
  return { lines, write: (line: string) => lines.push(line) };
}

test('text: human lines with the program name, below the level dropped, fields not shown', (t) => {
  const out = sink();
  const log: Logger = textLogger({ name: 'fib-server-pool', level: 'info', sink: out });
  log.debug({}, 'not shown');
  log.info({ worker: 7 }, 'a pool thread died; it is replaced');
  log.warn({ err: new Error('EMFILE') }, 'accept failed: EMFILE');
  t.false(log.isLevelEnabled('debug'));
  t.true(log.isLevelEnabled('error'));
  t.deepEqual(out.lines, [
    'fib-server-pool: a pool thread died; it is replaced\n',
    'fib-server-pool: accept failed: EMFILE\n',
  ]);
});

test('text at level error shows the stack of an unexpected error', (t) => {
  const out = sink();
  textLogger({ name: 'x', level: 'error', sink: out }).error(
    { err: new TypeError('bug') },
    'a compute job failed: bug',
  );
  t.regex(out.lines[0]!, /^x: a compute job failed: bug\nTypeError: bug\n {4}at /);
});

test('json: pino records with level, time, msg, pid, name and the fields', (t) => {
  const out = sink();
  const log = jsonLogger({ name: 'fib-server-cluster', level: 'debug', base: { strategy: 'cluster' }, sink: out });
  log.child({ worker: 1234 }).warn({ code: 1, signal: null }, 'worker 1234 died (code 1); replacing it');
  log.debug({ remote: '127.0.0.1:5000', requests: 3, errors: 0 }, 'closed');
  const [died, closed] = out.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  t.like(died, {
    level: 40,
    msg: 'worker 1234 died (code 1); replacing it',
    pid: process.pid,
    name: 'fib-server-cluster',
    strategy: 'cluster',
    worker: 1234,
    code: 1,
  });
  t.is(typeof died!.time, 'number');
  t.like(closed, { level: 20, requests: 3 });
});

test('json below its level writes nothing', (t) => {
  const out = sink();
  jsonLogger({ name: 'x', level: 'warn', sink: out }).info({}, 'hidden');
  t.deepEqual(out.lines, []);
});

test('logReporter turns a reported event into a record at its level', (t) => {
  const out = sink();
  const report = logReporter(jsonLogger({ name: 'x', level: 'info', sink: out }));
  report({ level: 'error', event: 'worker-died', msg: 'gone', worker: 9 });
  report({ level: 'debug', event: 'noise', msg: 'hidden' });
  t.is(out.lines.length, 1);
  t.like(JSON.parse(out.lines[0]!), { level: 50, event: 'worker-died', msg: 'gone', worker: 9 });
});

test('NO_LOG takes everything and says nothing', (t) => {
  t.false(NO_LOG.isLevelEnabled('error'));
  t.notThrows(() => NO_LOG.child({ a: 1 }).error({}, 'x'));
});
