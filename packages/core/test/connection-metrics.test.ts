import test from 'ava';
import type { Socket } from 'node:net';
import {
  Connection,
  RequestStats,
  codeIndex,
  inlineSession,
  textLogger,
  type RequestCode,
  type Session,
} from '@fib/core';
import { FibError } from '@fib/protocol';
import { FakeSocket, flush, LIMITS, ManualSession } from './fake-socket.js';

function connect(session: Session, options: { maxQueue?: number; maxLine?: number; debug?: string[] } = {}) {
  const socket = new FakeSocket();
  const stats = new RequestStats();
  const debug = options.debug;
  const shared = {
    jobs: 0,
    maxQueue: options.maxQueue ?? 10_000,
    draining: false,
    report: () => {},
    stats,
    ...(debug ? { log: textLogger({ name: 't', level: 'debug', sink: { write: (l: string) => debug.push(l) } }) } : {}),
  };
  Object.assign(socket, { remoteAddress: '127.0.0.1', remotePort: 4242 });
  new Connection(socket as unknown as Socket, session, { ...LIMITS, maxLine: options.maxLine ?? 128 }, shared);
  return { socket, stats, shared };
}

const count = (stats: RequestStats, code: RequestCode) => stats.codes[codeIndex(code)];

test('inline answers: one count per code and one latency per answer written', (t) => {
  const { socket, stats } = connect(inlineSession);
  socket.feed('1\n2\nx\n99\n\n3\n');
  t.is(socket.lines().length, 5);
  t.is(count(stats, 'ok'), 3);
  t.is(count(stats, 'bad_request'), 1);
  t.is(count(stats, 'out_of_range'), 1);
  t.is(stats.duration.count, 5, 'a blank line is no request');
  t.true(stats.duration.sum >= 0);
});

test('answers that come later are timed when written, in request order, behind the slow one', async (t) => {
  const session = new ManualSession();
  const { socket, stats } = connect(session);
  socket.feed('10\n11\nbad\n');
  session.jobs[1]!.resolve(89);
  await flush();
  t.is(stats.duration.count, 0, 'nothing written while the first answer is missing');
  t.is(count(stats, 'ok'), 1);
  session.jobs[0]!.resolve(55);
  await flush();
  t.is(socket.lines().length, 3);
  t.is(stats.duration.count, 3);
  t.is(count(stats, 'ok'), 2);
  t.is(count(stats, 'bad_request'), 1);
});

test('rejections count under their code; anything that is not a FibError is internal', async (t) => {
  const session = new ManualSession();
  const { socket, stats } = connect(session);
  socket.feed('1\n2\n3\n');
  session.jobs[0]!.reject(new FibError('busy', 'full'));
  session.jobs[1]!.reject(new Error('boom'));
  session.jobs[2]!.reject(new FibError('internal', 'died twice'));
  await flush();
  t.is(socket.lines().length, 3);
  t.is(count(stats, 'busy'), 1);
  t.is(count(stats, 'internal'), 2);
  t.is(stats.duration.count, 3);
});

test('--max-queue refusals, shutting_down and line_too_long are counted', (t) => {
  const session = new ManualSession();
  const { socket, stats, shared } = connect(session, { maxQueue: 1, maxLine: 8 });
  socket.feed('1\n2\n');
  t.is(count(stats, 'busy'), 1);
  shared.draining = true;
  socket.feed('3\n');
  t.is(count(stats, 'shutting_down'), 1);
  socket.feed('123456789012');
  t.is(count(stats, 'line_too_long'), 1);
});

test('debug: one line when a connection opens and one when it closes, with its counts', (t) => {
  const debug: string[] = [];
  const { socket } = connect(inlineSession, { debug });
  socket.feed('1\n2\nx\n');
  socket.destroy();
  t.deepEqual(debug, [
    't: connection from 127.0.0.1:4242 opened\n',
    't: connection from 127.0.0.1:4242 closed after 3 requests (1 ERR)\n',
  ]);
});

test('without stats the connection keeps no timing state', (t) => {
  const socket = new FakeSocket();
  const shared = { jobs: 0, maxQueue: 10, draining: false, report: () => {} };
  new Connection(socket as unknown as Socket, inlineSession, LIMITS, shared);
  socket.feed('1\n');
  t.deepEqual(socket.lines(), ['1']);
});
