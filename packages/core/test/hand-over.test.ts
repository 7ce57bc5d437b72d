import test from 'ava';
import type { Socket } from 'node:net';
import { Connection, inlineSession, type Session, type SharedState } from '@fib/core';
import { FakeSocket, flush, LIMITS, ManualSession } from './fake-socket.js';

interface Carried {
  framed: boolean;
  bytes: Buffer;
}

/** A fake socket whose answers can be held back from the kernel: writableLength and write callbacks. */
class SlowSocket extends FakeSocket {
  writableLength = 0;
  readonly callbacks: (() => void)[] = [];
  override write(data: string, _encoding?: string, callback?: () => void) {
    const accepted = super.write(data);
    if (callback !== undefined) this.callbacks.push(callback);
    return accepted;
  }
}

function serve(session: Session, carried?: Carried) {
  const socket = new SlowSocket();
  const shared: SharedState = { jobs: 0, maxQueue: 100, draining: false, report: () => {} };
  const connection = new Connection(socket as unknown as Socket, session, LIMITS, shared, carried);
  const handed: Carried[] = [];
  const handOver = () => connection.handOver((state) => handed.push(state));
  return { socket, connection, shared, handed, handOver };
}

test('an idle connection is quiet at once: handed over untouched, nothing written or ended', (t) => {
  const { socket, handed, handOver } = serve(inlineSession);
  handOver();
  t.is(handed.length, 1);
  t.false(handed[0]!.framed);
  t.is(handed[0]!.bytes.length, 0);
  t.true(socket.paused);
  t.false(socket.ended);
  t.is(socket.written, '');
});

test('half a request travels with the connection, and the new side completes it', (t) => {
  const { socket, connection, handed, handOver } = serve(inlineSession);
  socket.feed('1\n2');
  handOver();
  t.deepEqual(socket.lines(), ['1']);
  t.true(handed[0]!.framed);
  t.is(handed[0]!.bytes.toString('latin1'), '2');
  // The old side reads and closes nothing any more.
  socket.feed('0\n');
  connection.drain();
  t.deepEqual(socket.lines(), ['1']);
  t.false(socket.ended);

  const next = serve(inlineSession, handed[0]);
  next.socket.feed('0\n');
  t.deepEqual(next.socket.lines(), ['6765'], 'fib(20), not fib(2) then fib(0)');
});

test('carried whole requests are answered first, in order', (t) => {
  const next = serve(inlineSession, { framed: true, bytes: Buffer.from('5\n1', 'latin1') });
  t.deepEqual(next.socket.lines(), ['5']);
  next.socket.feed('2\n');
  t.deepEqual(next.socket.lines(), ['5', '144']);
});

test('requests still computing: handed over only once their answers are written', async (t) => {
  const session = new ManualSession();
  const { socket, handed, handOver } = serve(session);
  socket.feed('10\n11\n');
  handOver();
  t.is(handed.length, 0);
  session.jobs[1]!.resolve(89);
  await flush();
  t.is(handed.length, 0);
  session.jobs[0]!.resolve(55);
  await flush();
  t.deepEqual(socket.lines(), ['55', '89']);
  t.is(handed.length, 1);
  t.is(handed[0]!.bytes.length, 0);
});

test('answers not yet with the kernel hold the hand-over until they are', (t) => {
  const { socket, handed, handOver } = serve(inlineSession);
  socket.feed('7\n');
  socket.writableLength = 3;
  handOver();
  t.is(handed.length, 0);
  t.is(socket.callbacks.length, 1, 'one empty write, to learn when the others left');
  socket.writableLength = 0;
  socket.callbacks[0]!();
  t.is(handed.length, 1);
  t.deepEqual(socket.lines(), ['13']);
});

test('a drain before the quiet point cancels the hand-over: the connection closes after its last answer', async (t) => {
  const session = new ManualSession();
  const { socket, connection, shared, handed, handOver } = serve(session);
  socket.feed('10\n');
  handOver();
  // As a worker drains: refuse what comes next, close each connection once answered.
  shared.draining = true;
  connection.drain();
  session.jobs[0]!.resolve(55);
  await flush();
  t.deepEqual(socket.lines(), ['55']);
  t.true(socket.ended);
  t.is(handed.length, 0);
});
