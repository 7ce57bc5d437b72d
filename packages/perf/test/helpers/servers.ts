// In-process TCP servers for the perf tests: a correct fib line server and
// fakes that misbehave on purpose. They run in the test process, the load
// generator runs either in-process (the library) or as a child (the bins).
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ExecutionContext } from 'ava';

/** fib(n) the way every server must compute it. */
export function naiveFib(n: number): number {
  return n < 2 ? n : naiveFib(n - 1) + naiveFib(n - 2);
}

export interface RequestContext {
  socket: Socket;
  /** The request's n (NaN if the line was not a number). */
  n: number;
  /** Requests seen on this connection before this one. */
  index: number;
  /** Connections accepted before this one. */
  connection: number;
}

/**
 * What to answer: a string (written at once), null to hold the answer back
 * (the handler writes it later itself), or 'handled' after acting on the socket.
 */
export type Handler = (request: RequestContext) => string | null;

export interface TestServer {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Request lines received so far, over all connections. */
  requests: number;
  /** Every n received, in order. */
  ns: number[];
  /** Arrival times (performance.now()) of the requests. */
  arrivals: number[];
  close(): Promise<void>;
}

export const correct: Handler = ({ n }) => `${naiveFib(n)}\n`;

/**
 * Answers the first `count` requests of each connection correctly, then
 * hands the socket to `act` (reset it, close it, ...) and answers no more.
 */
export function answerThen(count: number, act: (socket: Socket) => void): Handler {
  return ({ socket, n, index }) => {
    if (index < count) return correct({ socket, n, index, connection: 0 });
    act(socket);
    return null;
  };
}

/** A line server that hands every request to `handler`; answers of one read go out in one write. */
export async function startServer(
  handler: Handler = correct,
  onConnect?: (socket: Socket) => void,
): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const state: TestServer = {
    port: 0,
    connections: 0,
    requests: 0,
    ns: [],
    arrivals: [],
    close: () => closeServer(server, sockets),
  };
  const server: Server = createServer({ noDelay: true }, (socket) => {
    const connection = state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // clients reset connections at the end of runs
    onConnect?.(socket);
    let partial = '';
    let index = 0;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      let out = '';
      for (const line of lines) {
        if (socket.destroyed) return;
        const n = /^\d+$/.test(line) ? Number(line) : NaN;
        state.requests++;
        state.ns.push(n);
        state.arrivals.push(performance.now());
        const answer = handler({ socket, n, index: index++, connection });
        if (answer !== null) out += answer;
      }
      if (out !== '' && !socket.destroyed) socket.write(out);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  return state;
}

/** startServer() for one test: closed when the test ends, pass or fail. */
export async function serve(
  t: ExecutionContext,
  handler: Handler = correct,
  onConnect?: (socket: Socket) => void,
): Promise<TestServer> {
  const server = await startServer(handler, onConnect);
  t.teardown(() => server.close());
  return server;
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port that nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A server that holds answers until `depth` requests of a connection are
 * pending (or `flushAfterMs` passed), then answers them all; it records the
 * most requests a connection ever had pending.
 */
export async function startHoldingServer(
  depth: number,
  flushAfterMs = 50,
): Promise<TestServer & { maxPending: number }> {
  const pending = new Map<Socket, number[]>();
  const timers = new Map<Socket, NodeJS.Timeout>();
  const flush = (socket: Socket) => {
    clearTimeout(timers.get(socket));
    timers.delete(socket);
    const ns = pending.get(socket) ?? [];
    pending.set(socket, []);
    if (ns.length > 0 && !socket.destroyed) socket.write(ns.map((n) => `${naiveFib(n)}\n`).join(''));
  };
  const server = await startServer(({ socket, n }) => {
    const ns = pending.get(socket) ?? [];
    pending.set(socket, ns);
    ns.push(n);
    holding.maxPending = Math.max(holding.maxPending, ns.length);
    if (ns.length >= depth) flush(socket);
    else if (!timers.has(socket))
      timers.set(
        socket,
        setTimeout(() => flush(socket), flushAfterMs),
      );
    return null;
  });
  const holding = Object.assign(server, { maxPending: 0 });
  const close = server.close;
  holding.close = () => {
    for (const timer of timers.values()) clearTimeout(timer);
    return close();
  };
  return holding;
}

/** Writes `text` one byte per write, a few ms apart, so that the reader sees every possible split. */
export async function dribble(socket: Socket, text: string, gapMs = 2): Promise<void> {
  for (const byte of text) {
    if (socket.destroyed) return;
    socket.write(byte);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
}
