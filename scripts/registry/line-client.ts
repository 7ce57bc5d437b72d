// The smallest client of the fib protocol, independent of @fib/protocol on
// purpose: the registry test must judge the published servers with nothing
// taken from the code under test.
import { connect } from 'node:net';

export interface LineClient {
  /** Writes `payload` as is (no terminator added) and resolves with the next answer line. */
  request(payload: string): Promise<string>;
  close(): void;
}

interface Waiter {
  resolve(line: string): void;
  reject(error: Error): void;
}

export function openLineClient({
  host,
  port,
  timeoutMs,
}: {
  host: string;
  port: number;
  timeoutMs: number;
}): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const lines: string[] = [];
    const waiting: Waiter[] = [];
    let buffered = '';
    let failure: Error | undefined;
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no answer from ${host}:${port} within ${timeoutMs / 1000} s`)),
    );
    socket.on('data', (chunk) => {
      buffered += chunk;
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        lines.push(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
      }
      while (lines.length && waiting.length) waiting.shift()!.resolve(lines.shift()!);
    });
    const settleAll = (error: Error) => {
      failure ??= error;
      while (waiting.length) waiting.shift()!.reject(failure);
    };
    socket.on('error', (error) => settleAll(error));
    socket.on('close', () => settleAll(new Error(`${host}:${port} closed the connection`)));
    socket.once('connect', () =>
      resolve({
        request(payload) {
          if (failure) return Promise.reject(failure);
          socket.write(payload);
          if (lines.length) return Promise.resolve(lines.shift()!);
          return new Promise<string>((res, rej) => waiting.push({ resolve: res, reject: rej }));
        },
        close() {
          socket.end();
        },
      }),
    );
    socket.once('error', reject);
  });
}
