import type { Socket } from 'node:net';
import type { Reporter } from './events.js';
import type { ServerMetrics } from './metrics.js';
import type { ReloadResult } from './reload.js';
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
  /**
   * Every request of one read has been asked: a session that gathers
   * requests into batches may send them now instead of at the end of the turn.
   */
  flush?(): void;
}

interface EngineLifecycle {
  /** A graceful shutdown began: tell the workers to finish what they hold and take nothing new. */
  drain?(): void;
  /**
   * Every connection is gone (or the shutdown timed out): end every worker
   * now, without waiting for work they may still hold.
   */
  close(): Promise<void>;
  /**
   * SIGHUP: replace the workers one at a time, each new one ready before
   * the old one drains, without refusing or dropping a request. Called one
   * at a time (the server queues the next). An engine without it has
   * nothing to reload.
   */
  reload?(): Promise<ReloadResult>;
}

/** An engine that frames connections in this process and computes their requests somewhere. */
export interface ComputeEngine extends EngineLifecycle {
  /**
   * Connections served at the same time; the others wait, unread, in arrival
   * order (the sequential strategy says 1). Default: no limit.
   */
  readonly concurrency?: number;
  /** A new connection: its session. */
  open(): Session;
  readonly adopt?: never;
}

/** An engine that hands each connection, unread, to another process that serves it. */
export interface HandoffEngine extends EngineLifecycle {
  /**
   * Takes the socket (paused, not a byte read). The engine calls `release`
   * exactly once, when the connection is over, so that the server can count
   * it against --max-connections and know when a drain is done.
   */
  adopt(socket: Socket, release: () => void): void;
  readonly open?: never;
  readonly concurrency?: never;
}

/** The running mechanism of a strategy, made once per server by `Strategy.create`. */
export type Engine = ComputeEngine | HandoffEngine;

/** What the server gives an engine besides the options. */
export interface ServerContext {
  /** Where the engine reports worker deaths and the like (the CLI prints them). */
  readonly report: Reporter;
  /**
   * The engine cannot go on (its workers cannot start): the server shuts
   * down, and its `done` rejects with `error`.
   */
  fail(error: Error): void;
  /**
   * Where the engine records what only it sees (queue waits, workers up,
   * restarts); null when metrics are off, and then recording costs nothing.
   */
  readonly metrics: ServerMetrics | null;
}

/** A concurrency strategy: the only thing a strategy package adds to `@fib/core`. */
export interface Strategy extends OptionPolicy {
  /** Short name: the bin is `fib-server-<name>`. */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  create(options: ServerOptions, context: ServerContext): Engine | Promise<Engine>;
}

/** A server as the library API returns it (docs/api.md). */
export interface RunningServer {
  readonly address: { readonly host: string; readonly port: number };
  /** Graceful, as on SIGTERM; rejects with ShutdownTimeoutError if work was cut off. */
  close(): Promise<void>;
  /**
   * Settles when the server has stopped: resolves after `close()`, rejects
   * if it stopped by itself because it could not go on (workers that cannot start).
   */
  readonly done: Promise<void>;
  /** Where Prometheus metrics are served (`http://HOST:PORT/metrics`), when --metrics-port was given. */
  readonly metricsUrl?: string;
  /** SIGHUP: replaces the workers one at a time; absent when the server has none to replace. */
  reload?(): Promise<ReloadResult>;
}

/**
 * What a bin runs: a Strategy through `serve`, or a program that builds its
 * server differently but keeps the same CLI.
 */
export interface ServerProgram extends OptionPolicy {
  readonly name: string;
  readonly description: string;
  start(options: ServerOptions, report: Reporter): Promise<RunningServer>;
}

export class ShutdownTimeoutError extends Error {
  constructor(seconds: number) {
    super(`graceful shutdown did not finish within ${seconds} s; remaining work was cut off`);
    this.name = 'ShutdownTimeoutError';
  }
}
