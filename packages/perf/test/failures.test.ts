// Honest failure: whatever the server does wrong is counted and described, never hidden.
import test from 'ava';
import { runLoad } from '@fib/perf';
import { answerThen, correct, dribble, freePort, naiveFib, serve } from './helpers/servers.js';

test('an unreachable port: no connection, a one-line reason, nothing measured', async (t) => {
  const port = await freePort();
  const problems: string[] = [];
  const result = await runLoad({ port, connections: 2, requests: 10, onProblem: (p) => problems.push(p) });
  t.is(result.stopReason, 'connect-failed');
  t.deepEqual(result.connections, { opened: 0, failed: 2, dropped: 0 });
  t.is(result.requests.ok, 0);
  t.is(result.seconds, 0);
  // Two refusals for the same reason are one problem.
  t.deepEqual(problems, [`cannot connect to 127.0.0.1:${port}: connection refused (ECONNREFUSED)`]);
  t.deepEqual(result.problems, problems);
});

test('ERR answers are counted by code, and the connection goes on', async (t) => {
  const server = await serve(t, ({ n, index }) =>
    index % 2 === 0 ? `${naiveFib(n)}\n` : 'ERR busy server is at capacity, try again later\n',
  );
  const result = await runLoad({ port: server.port, requests: 20, pipeline: 4 });
  t.is(result.stopReason, 'requests');
  t.is(result.requests.ok, 10);
  t.is(result.requests.err.busy, 10);
  t.is(result.requests.failed, 10);
  t.is(result.latencyMicros.count, 10); // only correct answers are timed
  t.deepEqual(result.problems, ['server answered ERR busy server is at capacity, try again later']);
});

test('every ERR code is recognised', async (t) => {
  const codes = ['bad_request', 'out_of_range', 'line_too_long', 'busy', 'internal', 'shutting_down'] as const;
  const server = await serve(t, ({ index }) => `ERR ${codes[index % codes.length]} message\n`);
  const result = await runLoad({ port: server.port, requests: 12 });
  for (const code of codes) t.is(result.requests.err[code], 2, code);
  t.is(result.requests.ok, 0);
  t.is(result.problems.length, codes.length);
});

test('wrong answers are caught: the client checks every value', async (t) => {
  // Right for most requests, off by one for every fifth.
  const server = await serve(t, ({ n, index }) => `${naiveFib(n) + (index % 5 === 4 ? 1 : 0)}\n`);
  const result = await runLoad({ port: server.port, n: 20, requests: 50, pipeline: 8 });
  t.is(result.requests.ok, 40);
  t.is(result.requests.wrong, 10);
  t.deepEqual(result.problems, ['wrong answer: expected 6765, got 6766']);
});

test('a number with leading zeros is not how fib(n) is written: wrong', async (t) => {
  const server = await serve(t, ({ n, index }) => (index === 0 ? `0${naiveFib(n)}\n` : `${naiveFib(n)}\n`));
  const result = await runLoad({ port: server.port, n: 10, requests: 3 });
  t.is(result.requests.ok, 2);
  t.is(result.requests.wrong, 1);
  t.deepEqual(result.problems, ['wrong answer: expected 55, got 055']);
});

test('fib(0) is 0: a server answering 1 (the original Python one did) is wrong', async (t) => {
  const server = await serve(t, () => '1\n');
  const result = await runLoad({ port: server.port, n: 0, requests: 3 });
  t.is(result.requests.wrong, 3);
  t.is(result.requests.ok, 0);
});

test('malformed lines and unknown ERR codes are counted as malformed', async (t) => {
  const answers = ['hello\n', '\n', 'ERR nope what\n', '1\r\n', ' 1\n', '-1\n', '1.0\n', 'err busy x\n'];
  const server = await serve(t, ({ index }) => answers[index % answers.length]!);
  const result = await runLoad({ port: server.port, requests: answers.length });
  t.is(result.requests.malformed, answers.length);
  t.is(result.requests.ok, 0);
  t.is(result.requests.failed, answers.length);
  t.true(result.problems.includes('malformed answer: "hello"'));
});

test('answers split anywhere by TCP are put back together', async (t) => {
  const server = await serve(t, ({ socket, n, index }) => {
    void dribble(socket, index === 2 ? 'ERR internal the worker died\n' : `${naiveFib(n)}\n`, 1);
    return null;
  });
  // One request at a time so that the dribbled answers cannot interleave.
  const result = await runLoad({ port: server.port, n: 25, requests: 5 });
  t.is(result.requests.ok, 4);
  t.is(result.requests.err.internal, 1);
  t.is(result.requests.failed, 1);
});

test('many answers merged in one read are all counted', async (t) => {
  // Holds the first 50 answers and sends them in one write.
  const held: string[] = [];
  const server = await serve(t, ({ socket, n }) => {
    held.push(`${naiveFib(n)}\n`);
    if (held.length === 50) socket.write(held.join(''));
    return held.length > 50 ? `${naiveFib(n)}\n` : null;
  });
  const result = await runLoad({ port: server.port, n: 3, requests: 60, pipeline: 50 });
  t.is(result.requests.ok, 60);
});

test('a connection reset by the server: its requests in flight are lost, the run ends', async (t) => {
  const server = await serve(
    t,
    answerThen(5, (socket) => socket.resetAndDestroy()),
  );
  const result = await runLoad({ port: server.port, requests: 100 });
  t.like(result, { stopReason: 'connections-lost', requests: { ok: 5, lost: 1 }, connections: { dropped: 1 } });
  t.deepEqual(result.problems, ['connection reset by the server']);
});

test('a connection closed by the server is reported as such', async (t) => {
  const server = await serve(
    t,
    answerThen(3, (socket) => socket.end()),
  );
  const result = await runLoad({ port: server.port, duration: 30 });
  t.like(result, { stopReason: 'connections-lost', requests: { ok: 3, lost: 1 } });
  t.deepEqual(result.problems, ['connection closed by the server']);
  // Pipelined, the client may still be writing when the server's FIN arrives: still "closed".
  const pipelined = await runLoad({ port: server.port, duration: 30, pipeline: 4 });
  t.is(pipelined.stopReason, 'connections-lost');
  t.true(pipelined.requests.lost >= 1);
  t.deepEqual(pipelined.problems, ['connection closed by the server']);
});

test('one dropped connection out of two: the others finish the requests', async (t) => {
  const server = await serve(t, ({ socket, n, connection }) => {
    if (connection > 0) return `${naiveFib(n)}\n`;
    socket.resetAndDestroy();
    return null;
  });
  const result = await runLoad({ port: server.port, connections: 2, requests: 20 });
  t.like(result, { stopReason: 'requests', requests: { ok: 19, lost: 1 }, connections: { dropped: 1 } });
});

test('answers nobody asked for break the protocol: counted, and the connection is closed', async (t) => {
  const server = await serve(t, ({ n }) => `${naiveFib(n)}\n${naiveFib(n)}\n`);
  const result = await runLoad({ port: server.port, requests: 10 });
  t.is(result.stopReason, 'connections-lost');
  t.is(result.requests.ok, 1);
  t.is(result.requests.malformed, 1);
  t.is(result.connections.dropped, 1);
  t.regex(result.problems[0]!, /protocol violation: answer with no request in flight: "1"; closing the connection/);
});

test('an endless answer line is cut off instead of filling memory', async (t) => {
  const server = await serve(t, ({ socket }) => {
    socket.write('x'.repeat(10_000));
    return null;
  });
  const result = await runLoad({ port: server.port, requests: 10 });
  t.is(result.stopReason, 'connections-lost');
  t.is(result.requests.malformed, 1);
  t.regex(result.problems[0]!, /answer line longer than 4096 bytes/);
});

test('ERR busy then close, as a server at --max-connections does: reported, not hidden', async (t) => {
  const server = await serve(t, ({ socket }) => {
    socket.end('ERR busy too many connections; closing\n');
    return null;
  });
  const result = await runLoad({ port: server.port, requests: 10 });
  t.is(result.requests.err.busy, 1);
  t.is(result.requests.ok, 0);
  t.is(result.stopReason, 'connections-lost');
});

test('a server that greets with ERR busy and closes (at --max-connections): the reason shows', async (t) => {
  const server = await serve(t, correct, (socket) => socket.end('ERR busy too many connections; closing\n'));
  const result = await runLoad({ port: server.port, connections: 3, requests: 10 });
  t.is(result.requests.ok, 0);
  t.is(result.stopReason, 'connections-lost');
  t.is(result.connections.dropped, 3);
  // Depending on when the line lands it answers a request or comes with none in flight.
  t.true(
    result.problems.some((problem) => problem.includes('ERR busy too many connections')),
    String(result.problems),
  );
});
