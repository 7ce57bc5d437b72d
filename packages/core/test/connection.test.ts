import test from 'ava';
import { fib, inlineSession } from '@fib/core';
import { FibError } from '@fib/protocol';
import { connect, flush, ManualSession } from './fake-socket.js';

test('fib follows the mathematical definition', (t) => {
  t.deepEqual([0, 1, 2, 3, 4, 5, 10, 30].map(fib), [0, 1, 1, 2, 3, 5, 55, 832040]);
});

test('the first read without \\n is a request; after the first \\n the stream is line-framed', (t) => {
  const { socket } = connect(inlineSession);
  socket.feed('30');
  socket.feed('7');
  t.deepEqual(socket.lines(), ['832040', '13']);
  socket.feed('1\n2');
  t.deepEqual(socket.lines(), ['832040', '13', '1']);
  socket.feed('0\n');
  t.deepEqual(socket.lines(), ['832040', '13', '1', '6765']);
});

test('answers computed at once go out in one write per read', (t) => {
  const { socket } = connect(inlineSession);
  let writes = 0;
  const write = socket.write.bind(socket);
  socket.write = (data: string) => {
    writes++;
    return write(data);
  };
  socket.feed('1\n2\n3\nx\n4\n');
  t.is(writes, 1);
  t.deepEqual(socket.lines(), ['1', '1', '2', 'ERR bad_request expected a non-negative decimal integer', '3']);
});

test('answers completed out of order are written in request order', async (t) => {
  const session = new ManualSession();
  const { socket } = connect(session);
  socket.feed('10\n11\nbad\n12\n');
  t.is(session.jobs.length, 3);
  session.jobs[2]!.resolve(144);
  session.jobs[1]!.resolve(89);
  await flush();
  t.is(socket.written, '');
  session.jobs[0]!.resolve(55);
  await flush();
  t.deepEqual(socket.lines(), ['55', '89', 'ERR bad_request expected a non-negative decimal integer', '144']);
});

test('a FibError keeps its code; any other failure is answered internal and reported', async (t) => {
  const session = new ManualSession();
  const { socket, reported } = connect(session);
  socket.feed('1\n2\n');
  session.jobs[0]!.reject(new FibError('busy', 'no room'));
  session.jobs[1]!.reject(new Error('boom'));
  await flush();
  t.deepEqual(socket.lines(), ['ERR busy no room', 'ERR internal the worker computing this request died']);
  t.is(reported.length, 1);
});

test('--max-pipeline pauses the socket instead of buffering, and resumes in order', async (t) => {
  const session = new ManualSession();
  const { socket } = connect(session, { maxPipeline: 4 });
  socket.feed(Array.from({ length: 10 }, (_, i) => `${i}\n`).join(''));
  t.is(session.jobs.length, 4, 'the session sees no more than maxPipeline jobs');
  t.true(socket.paused);
  for (const job of session.jobs.splice(0, 2)) job.resolve(fib(job.n));
  await flush();
  t.is(session.jobs.length, 4, 'two answered, two more taken from the held bytes');
  t.true(socket.paused);
  for (let round = 0; round < 5 && session.jobs.length > 0; round++) {
    for (const job of session.jobs.splice(0)) job.resolve(fib(job.n));
    await flush();
  }
  t.false(socket.paused);
  t.deepEqual(
    socket.lines(),
    Array.from({ length: 10 }, (_, i) => String(fib(i))),
  );
});

test('a client that does not read its answers stops being read until drain', (t) => {
  const { socket } = connect(inlineSession);
  socket.accepting = false;
  socket.feed('1\n');
  t.true(socket.paused);
  socket.emit('drain');
  t.false(socket.paused);
});

test('--max-queue answers busy beyond the server-wide job limit', async (t) => {
  const session = new ManualSession();
  const { socket, shared } = connect(session, {}, 2);
  socket.feed('5\n6\n7\n');
  t.is(shared.jobs, 2);
  for (const job of session.jobs) job.resolve(fib(job.n));
  await flush();
  t.deepEqual(socket.lines(), ['5', '8', 'ERR busy server is at capacity, try again later']);
  t.is(shared.jobs, 0);
});

test('line_too_long is answered after earlier answers, then the connection ends', async (t) => {
  const session = new ManualSession();
  const { socket } = connect(session, { maxLine: 8 });
  socket.feed('3\n');
  socket.feed('123456789');
  t.false(socket.ended, 'waits for the earlier answer');
  socket.feed('\n4\n');
  t.is(session.jobs.length, 1, 'nothing after the long line is parsed');
  session.jobs[0]!.resolve(2);
  await flush();
  t.deepEqual(socket.lines(), ['2', 'ERR line_too_long request longer than 8 bytes; closing']);
  t.true(socket.ended);
});

test('a complete line longer than --max-line is refused too', async (t) => {
  const { socket } = connect(inlineSession, { maxLine: 8 });
  socket.feed('1\n0000000003\n');
  await flush();
  t.deepEqual(socket.lines(), ['1', 'ERR line_too_long request longer than 8 bytes; closing']);
  t.true(socket.ended);
});

test('draining answers what was received, refuses what comes after, then ends', async (t) => {
  const session = new ManualSession();
  const { socket, shared, connection } = connect(session);
  socket.feed('20\n');
  shared.draining = true;
  connection.drain();
  t.false(socket.ended);
  socket.feed('21\n');
  session.jobs[0]!.resolve(6765);
  await flush();
  t.deepEqual(socket.lines(), ['6765', 'ERR shutting_down server is shutting down']);
  t.true(socket.ended);
  t.is(session.jobs.length, 1);
});

test('an idle connection drains at once', (t) => {
  const { socket, shared, connection } = connect(inlineSession);
  shared.draining = true;
  connection.drain();
  t.true(socket.ended);
});

test('closing the socket closes the session and drops late answers', async (t) => {
  const session = new ManualSession();
  const { socket, shared } = connect(session);
  socket.feed('9\n');
  socket.destroy();
  t.true(session.closed);
  session.jobs[0]!.resolve(34);
  await flush();
  t.is(socket.written, '');
  t.is(shared.jobs, 0);
});
