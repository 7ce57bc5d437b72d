import test from 'ava';
import fc from 'fast-check';
import { fib, inlineSession } from '@fib/core';
import { connect, LIMITS } from './fake-socket.js';

const MAX_LINE = LIMITS.maxLine;

/** Splits `bytes` at the given cut points. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(last, point));
    last = point;
  }
  chunks.push(bytes.subarray(last));
  return chunks.filter((c) => c.length > 0);
}

const requestLine = fc.oneof(
  fc.integer({ min: 0, max: 25 }).map(String),
  fc.integer({ min: 0, max: 25 }).map((n) => ` \t${n} \r`),
  fc.constant(''),
  fc.integer({ min: 41, max: 1e9 }).map(String),
  fc.string({ maxLength: 20 }).map((s) => s.replace(/\n/g, '')),
);

test('any split of a line-framed stream yields the same answers', (t) => {
  fc.assert(
    fc.property(fc.array(requestLine, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 30 }), (lines, cuts) => {
      const stream = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
      const whole = connect(inlineSession);
      whole.socket.feed('0\n');
      whole.socket.feed(stream);
      const pieces = connect(inlineSession);
      pieces.socket.feed('0\n');
      for (const chunk of split(stream, cuts)) pieces.socket.feed(chunk);
      return pieces.socket.written === whole.socket.written;
    }),
  );
  t.pass();
});

test('valid requests get fib(n), in order, whatever the chunking', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 22 }), { minLength: 1, maxLength: 50 }),
      fc.array(fc.nat(), { maxLength: 50 }),
      (ns, cuts) => {
        const { socket } = connect(inlineSession);
        socket.feed('1\n');
        for (const chunk of split(Buffer.from(ns.map((n) => `${n}\r\n`).join('')), cuts)) socket.feed(chunk);
        const expected = ['1', ...ns.map((n) => String(fib(n)))];
        return JSON.stringify(socket.lines()) === JSON.stringify(expected);
      },
    ),
  );
  t.pass();
});

test('no input crashes the framer, and every output line is an answer or an ERR line', (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
      const { socket } = connect(inlineSession);
      for (const chunk of chunks) {
        if (socket.ended) break;
        socket.feed(Buffer.from(chunk));
      }
      return socket.lines().every((line) => /^(\d+|ERR (bad_request|out_of_range|line_too_long) .+)$/.test(line));
    }),
  );
  t.pass();
});

test('input without newlines is never held beyond --max-line bytes', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 40 }), (sizes) => {
      const { socket } = connect(inlineSession);
      socket.feed('1\n');
      let sent = 0;
      for (const size of sizes) {
        if (socket.ended) break;
        socket.feed(Buffer.alloc(size, 0x37));
        sent += size;
      }
      const tooLong = socket.lines().includes(`ERR line_too_long request longer than ${MAX_LINE} bytes; closing`);
      // Either the bytes fit in one line's allowance, or the connection was refused and ended.
      return sent > MAX_LINE ? tooLong && socket.ended : !tooLong && !socket.ended;
    }),
  );
  t.pass();
});
