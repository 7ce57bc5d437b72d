import test from 'ava';
import { reloader, type LogRecord } from '@fib/core';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

test('reloads run one at a time; requests during one make exactly one more', async (t) => {
  const records: LogRecord[] = [];
  const gates = [gate(), gate()];
  let runs = 0;
  const reload = reloader(
    async () => {
      await gates[runs++]!.opened;
      return { replaced: 2 };
    },
    (record) => records.push(record),
  );
  reload.request();
  reload.request();
  reload.request();
  t.is(runs, 1);
  gates[0]!.open();
  await new Promise((resolve) => setImmediate(resolve));
  t.is(runs, 2, 'the queued one starts once the first is done');
  gates[1]!.open();
  await reload.idle();
  t.is(runs, 2, 'three requests, two reloads');
  t.deepEqual(
    records.map((r) => r.event),
    ['reload-begin', 'reload-queued', 'reload-done', 'reload-begin', 'reload-done'],
  );
  t.like(records[2], { replaced: 2, level: 'info' });
  t.regex(records[2]!.msg, /^reload done in \d+\.\d\d s: 2 workers replaced$/);
});

test('a failed reload is reported, not thrown, and the next one still runs', async (t) => {
  const records: LogRecord[] = [];
  let fail = true;
  const reload = reloader(
    async () => {
      if (fail) throw new Error('the new worker did not start');
      return { replaced: 1 };
    },
    (record) => records.push(record),
  );
  reload.request();
  await reload.idle();
  fail = false;
  reload.request();
  await reload.idle();
  t.deepEqual(
    records.map((r) => r.event),
    ['reload-begin', 'reload-failed', 'reload-begin', 'reload-done'],
  );
  t.regex(records[1]!.msg, /the new worker did not start/);
});
