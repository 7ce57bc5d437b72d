import type { Socket } from 'node:net';
import type { OptionPolicy, ServerOptions } from './options.js';

/**
 * How one connection's requests are computed. `compute` returns the value
 * itself when it is computed at once (the event-loop strategies: no promise,
 * no allocation on the hot path), or a promise when the work goes elsewhere.
 * A promise that rejects with a FibError is answered with that error's code;
 * any other rejection is answered `ERR internal`.
 */
export interface Session {
  compute(n: number): number | Promise<number>;
  /** The connection is gone: drop or cancel whatever it still has queued. */
  close(): void;
}

/** The running mechanism of a strategy, made once per server by `Strategy.create`. */
export interface Engine {
  /**
   * Connections served at the same time; the others wait, unread, in arrival
   * order (the sequential strategy says 1). Default: no limit.
   */
  readonly concurrency?: number;
  /** A new connection served in this process: its session. */
  open?(socket: Socket): Session;
  /**
   * Or the connection is handed elsewhere (a child process). The engine calls
   * `release` once the connection is over, so the server can count it.
   * Exactly one of `open` and `adopt` is given.
   */
  adopt?(socket: Socket, release: () => void): void;
  /** A graceful shutdown began: tell whatever serves adopted connections to drain. */
  drain?(): void;
  /**
   * Every connection is gone (or the shutdown timed out): end every worker
   * now, without waiting for work they may still hold.
   */
  close(): Promise<void>;
}

/** A concurrency strategy: the only thing a strategy package adds to `@fib/core`. */
export interface Strategy extends OptionPolicy {
  /** Short name: the bin is `fib-server-<name>`. */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  create(options: ServerOptions): Engine | Promise<Engine>;
}

/** A server as the library API returns it (SPEC section 5). */
export interface RunningServer {
  readonly address: { readonly host: string; readonly port: number };
  /** Graceful, as on SIGTERM; rejects with ShutdownTimeoutError if work was cut off. */
  close(): Promise<void>;
}

/**
 * What a bin runs: a Strategy through `startServer`, or a program that builds
 * its server differently (the cluster primary) but keeps the same CLI.
 */
export interface ServerProgram extends OptionPolicy {
  readonly name: string;
  readonly description: string;
  start(options: ServerOptions): Promise<RunningServer>;
}

export class ShutdownTimeoutError extends Error {
  constructor(seconds: number) {
    super(`graceful shutdown did not finish within ${seconds} s; remaining work was cut off`);
    this.name = 'ShutdownTimeoutError';
  }
}
