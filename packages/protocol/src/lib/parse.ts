/**
 * Request parsing. The byte-level parser is the server's hot path: it reads
 * straight from the socket's Buffer, allocates nothing, and returns either n
 * (>= 0) or one of the negative outcomes below.
 */
export const BLANK = -1;
export const BAD_REQUEST = -2;
export const OUT_OF_RANGE = -3;

export type ParseOutcome = number;

const TAB = 9;
const CR = 13;
const SPACE = 32;
const ZERO = 48;
const NINE = 57;
/** Any value above this is out of range for every legal --max-n, so digits past it need only be checked, not added. */
const SATURATION = 1_000_000;

/**
 * Parses `bytes[start..end)` (the line without its `\n`): optional spaces or
 * tabs, decimal digits, optional spaces or tabs, an optional final `\r`.
 */
export function parseRequestBytes(bytes: Uint8Array, start: number, end: number, maxN: number): ParseOutcome {
  if (end > start && bytes[end - 1] === CR) end--;
  while (start < end && (bytes[start] === SPACE || bytes[start] === TAB)) start++;
  while (end > start && (bytes[end - 1] === SPACE || bytes[end - 1] === TAB)) end--;
  if (start === end) return BLANK;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c < ZERO || c > NINE) return BAD_REQUEST;
    if (n <= SATURATION) n = n * 10 + (c - ZERO);
  }
  return n > maxN ? OUT_OF_RANGE : n;
}

export type ParsedRequest =
  | { readonly kind: 'blank' }
  | { readonly kind: 'request'; readonly n: number }
  | { readonly kind: 'error'; readonly code: 'bad_request' | 'out_of_range' };

/** The same rules for a string line (without its `\n`). */
export function parseRequest(line: string, maxN: number): ParsedRequest {
  const bytes = Buffer.from(line, 'utf8');
  const outcome = parseRequestBytes(bytes, 0, bytes.length, maxN);
  if (outcome === BLANK) return { kind: 'blank' };
  if (outcome === BAD_REQUEST) return { kind: 'error', code: 'bad_request' };
  if (outcome === OUT_OF_RANGE) return { kind: 'error', code: 'out_of_range' };
  return { kind: 'request', n: outcome };
}
