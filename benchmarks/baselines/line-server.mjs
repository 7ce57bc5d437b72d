#!/usr/bin/env node
// The bare line server: the least a correct fib server must do. Split the
// stream on "\n" (keeping a partial line for the next read), parse the digits,
// compute the naive fib inline, and send all the answers of one read in a
// single write. No limits, no error answers, no backpressure: it is the
// baseline the real strategies are compared with, not a server to deploy.
//
//   node benchmarks/baselines/line-server.mjs [--port 25000] [--host 127.0.0.1]
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '25000' } },
});

// The same naive double recursion every strategy uses (docs/protocol.md, "The workload").
/** @type {(n: number) => number} */
const fib = (n) => (n < 2 ? n : fib(n - 1) + fib(n - 2));

const server = createServer({ noDelay: true }, (socket) => {
  let partial = 0; // value of the digits of an unfinished line
  socket.on('data', (chunk) => {
    let out = '';
    let n = partial;
    for (let i = 0; i < chunk.length; i++) {
      const c = /** @type {number} */ (chunk[i]);
      if (c === 10) {
        out += fib(n) + '\n';
        n = 0;
      } else if (c >= 48 && c <= 57) {
        n = n * 10 + (c - 48);
      } // anything else ("\r", spaces) is skipped: this baseline trusts its clients
    }
    partial = n;
    if (out !== '') socket.write(out);
  });
  socket.on('error', () => socket.destroy());
});
server.listen(Number(values.port), values.host, () => {
  const { address, port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  console.log(`listening on ${address}:${port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
