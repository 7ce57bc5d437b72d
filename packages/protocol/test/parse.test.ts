import test from 'ava';
import fc from 'fast-check';
import {
  BAD_REQUEST,
  BLANK,
  OUT_OF_RANGE,
  parseAnswer,
  parseRequest,
  parseRequestBytes,
  formatError,
  FibError,
} from '@fib/protocol';

/** The rule of docs/protocol.md, "Requests", written the slow, obvious way. */
function reference(line: string, maxN: number): number {
  const body = line.replace(/\r$/, '').replace(/^[ \t]+|[ \t]+$/g, '');
  if (body === '') return BLANK;
  if (!/^[0-9]+$/.test(body)) return BAD_REQUEST;
  return BigInt(body) > BigInt(maxN) ? OUT_OF_RANGE : Number(body);
}

test('the byte parser agrees with the reference rule on any line', (t) => {
  const alphabet = fc.constantFrom(...'0123456789 \t\r+-.xe'.split(''));
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ unit: alphabet, maxLength: 30 }), fc.string({ maxLength: 30 })),
      fc.integer({ min: 0, max: 78 }),
      (raw, maxN) => {
        const line = raw.replace(/\n/g, '');
        const bytes = Buffer.from(line, 'utf8');
        return parseRequestBytes(bytes, 0, bytes.length, maxN) === reference(line, maxN);
      },
    ),
    { numRuns: 2000 },
  );
  t.pass();
});

test('parseRequest names the outcome', (t) => {
  t.deepEqual(parseRequest(' 30\r', 40), { kind: 'request', n: 30 });
  t.deepEqual(parseRequest('', 40), { kind: 'blank' });
  t.deepEqual(parseRequest('41', 40), { kind: 'error', code: 'out_of_range' });
  t.deepEqual(parseRequest('İ', 40), { kind: 'error', code: 'bad_request' });
  t.deepEqual(parseRequest('007', 40), { kind: 'request', n: 7 });
});

test('answers and errors round-trip', (t) => {
  t.is(parseAnswer('832040'), 832040);
  const error = t.throws(() => parseAnswer(formatError('out_of_range', 'n must be\nat most 40').trimEnd()), {
    instanceOf: FibError,
  });
  t.is(error?.code, 'out_of_range');
  t.is(error?.message, 'n must be at most 40');
  t.throws(() => parseAnswer('ERR nope x'), { message: /unknown error code/ });
  t.throws(() => parseAnswer('12a'), { message: /malformed answer/ });
});
