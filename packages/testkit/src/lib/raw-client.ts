import { connect, type Socket } from 'node:net';
import { once } from 'node:events';

/** How long a test waits for one answer line before it fails (fib(35) takes well under this). */
const LINE_TIMEOUT_MS = 20_000;

/**
 * A byte-level client for tests: writes exactly what it is given and reads
 * answer lines, so a test controls how the stream is split.
 */
export class RawClient {
  readonly socket: Socket;
  #buffer = '';
  #lines: string[] = [];
  #waiters: (() => void)[] = [];
  #ended = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let newline = this.#buffer.indexOf('\n');
      while (newline !== -1) {
        this.#lines.push(this.#buffer.slice(0, newline));
        this.#buffer = this.#buffer.slice(newline + 1);
        newline = this.#buffer.indexOf('\n');
      }
      this.#wake();
    });
    // A reset is a normal way for a test server to go: it shows as the end of the stream.
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#ended = true;
        this.#wake();
        resolve();
      }),
    );
  }

  /**
   * Connects; with `timeoutMs`, gives up (an error with code ETIMEDOUT, the
   * socket destroyed) when the connection is not made in time.
   */
  static async connect(port: number, host = '127.0.0.1', timeoutMs = 0): Promise<RawClient> {
    const socket = connect({ port, host });
    if (timeoutMs > 0) {
      socket.setTimeout(timeoutMs, () =>
        socket.destroy(Object.assign(new Error(`no connection within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      );
    }
    await once(socket, 'connect');
    socket.setTimeout(0);
    return new RawClient(socket);
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (error) => (error ? reject(error) : resolve())));
  }

  /** The next answer line, or null once the server closed the connection with no more lines. */
  async line(timeoutMs = LINE_TIMEOUT_MS): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.#lines.length === 0) {
      if (this.#ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) {
        // A test process starved of CPU wakes to its timers before it reads
        // its sockets: read what already arrived before calling it silence.
        await new Promise(setImmediate);
        if (this.#lines.length > 0 || this.#ended) continue;
        throw new Error(`no answer line within ${timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#lines.shift()!;
  }

  async lines(count: number, timeoutMs = LINE_TIMEOUT_MS): Promise<(string | null)[]> {
    const result: (string | null)[] = [];
    for (let i = 0; i < count; i++) result.push(await this.line(timeoutMs));
    return result;
  }

  /** Sends every request at once (one write, pipelined) and returns their answers, in order. */
  async pipeline(requests: readonly (number | string)[]): Promise<(string | null)[]> {
    await this.write(requests.map((request) => `${request}\n`).join(''));
    return this.lines(requests.length);
  }

  /** Sends one request line and returns its answer. */
  async ask(request: string): Promise<string | null> {
    await this.write(`${request}\n`);
    return this.line();
  }

  /** Bytes received after the last complete line. */
  get rest(): string {
    return this.#buffer;
  }

  get ended(): boolean {
    return this.#ended;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/**
 * For tests of --idle-timeout: connects, sends `request` and reads `count`
 * answer lines. The server's idle window opens when it accepts the
 * connection; when the connection was closed before the first answer and
 * `windowMs` had passed since this process began to connect, this process
 * itself may have stalled past the window before its request went out (a test
 * process starved of CPU on a loaded 2-core machine has been seen to), and
 * nothing was tested: it connects again, three times at most, and returns the
 * last attempt, answers and all, for the test to judge.
 */
export async function sendWithinIdleWindow(
  port: number,
  windowMs: number,
  request: string,
  count: number,
): Promise<{ client: RawClient; answers: (string | null)[] }> {
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    const client = await RawClient.connect(port);
    // A write to a connection the server already closed fails: the answers tell.
    await client.write(request).catch(() => {});
    const answers = await client.lines(count);
    const unheard = answers[0] === null && Date.now() - started >= windowMs;
    if (!unheard || attempt === 3) return { client, answers };
    client.socket.destroy();
  }
}
