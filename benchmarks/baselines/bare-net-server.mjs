#!/usr/bin/env node
// The floor of any Node TCP server: answer each 'data' event with the fib(1)
// answer "1\n" without looking at the bytes. It measures what node:net alone
// costs per round trip, so only depth-1 clients that send `1\n` get correct
// answers from it (at depth > 1 several requests share one data event).
//
//   node benchmarks/baselines/bare-net-server.mjs [--port 25000] [--host 127.0.0.1]
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '25000' } },
});
const ANSWER = Buffer.from('1\n');

const server = createServer({ noDelay: true }, (socket) => {
  socket.on('data', () => socket.write(ANSWER));
  socket.on('error', () => socket.destroy()); // a client reset is routine for a benchmark
});
server.listen(Number(values.port), values.host, () => {
  const { address, port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  console.log(`listening on ${address}:${port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
