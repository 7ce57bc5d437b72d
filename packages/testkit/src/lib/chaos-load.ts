import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fib } from '@fib/core';
import { FAULT_DEATHS, FAULT_N } from './chaos-targets.js';
import { ageMs, children, clientPortsHeld, threadCount } from './processes.js';
import { RawClient } from './raw-client.js';

/** The bound: a connection that waits longer than this without an answer or a close is hung. */
export const HUNG_MS = 5000;

/** Clients that each open short connections, one request each, one after the other. */
const SHORT_CLIENTS = 3;
/** Clients that each keep one connection busy with pipelined batches (a new one if it is cut). */
const PIPELINED_CLIENTS = 2;
/** Requests in one pipelined batch, at random between these. */
const BATCH_MIN = 2;
const BATCH_MAX = 8;
/**
 * Pause, at random up to this, between two batches: it keeps the load
 * moderate (a few hundred requests a second), so that the test process,
 * which runs beside other test files on two cores, is never the one starved.
 * Between two short connections the target says (ChaosTarget.shortPauseMs).
 */
const BATCH_PAUSE_MS = 10;
/** After a refused or hung connect, a client waits this long before it tries again, rather than spin. */
const RETRY_PAUSE_MS = 50;
/** The load's largest n: one below FAULT_N, which only the fault killer sends. */
const MAX_LOAD_N = FAULT_N - 1;
/** Distinct anomalies described in the report, at most (repeats are counted, not listed). */
const MAX_NOTES = 20;

export type Random = () => number;

/** A small seeded generator (mulberry32), so that a run's choices can be told by its seed. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export const between = (random: Random, low: number, high: number) => low + random() * (high - low);

/** Mostly small n, as a real client mix: 70 % in 1..15, 25 % in 16..25, 5 % in 26..30 (fib(30) is ~10 ms). */
function pickN(random: Random): number {
  const r = random();
  const [low, high] = r < 0.7 ? [1, 15] : r < 0.95 ? [16, 25] : [26, MAX_LOAD_N];
  return low + Math.floor(random() * (high - low + 1));
}

/** What a chaos run counted. */
export interface ChaosFigures {
  /** Seconds the load ran. */
  seconds: number;
  /** Workers killed: processes SIGKILLed, or threads the fault killed (FAULT_DEATHS per `ERR internal` it got). */
  kills: number;
  /** Of the kills, those aimed at a connection's handover to its child (fork). */
  handoverKills: number;
  /** Connections opened (the fault killer's included). */
  connections: number;
  /** Requests the load sent (the fault killer's are its kills). */
  requests: number;
  /** Requests answered with their fib. */
  answered: number;
  errInternal: number;
  /** Connections the server closed with requests unanswered. */
  cut: number;
  /** Of those, cut while in transit to a killed worker (held by the server's parent process at the kill, not yet answered). */
  inTransit: number;
  /** Of those, cut though no killed worker held them: must be 0. */
  cutElsewhere: number;
  /** Requests left unanswered on cut connections. */
  lost: number;
  /** Connections that waited more than HUNG_MS without an answer or a close (connects included). */
  hung: number;
  /** Connections refused: an error at connect, or `ERR busy` as their first line. */
  refused: number;
  /** Answers that were neither the request's fib nor `ERR internal`. */
  wrong: number;
}

/** What the server held when a worker was killed: the client ports of its connections. */
export interface KillRecord {
  readonly at: number;
  readonly pid: number;
  /** A kill aimed at a handover (see handoverKill). */
  readonly handover: boolean;
  /** Held by the killed worker. */
  readonly victim: ReadonlySet<number>;
  /** Held by the server's parent process and no other worker: on their way to a worker, maybe the killed one. */
  readonly inTransit: ReadonlySet<number>;
}

/** Who opened a connection: a short client, a pipelined one, or the fault killer. */
export type ClientKind = 'short' | 'pipelined' | 'killer';

/** One connection of the load. */
export interface Tracked {
  readonly kind: ClientKind;
  readonly client: RawClient;
  /** Its client-side port, by which the killer's /proc snapshots name it. */
  readonly port: number;
  /** When its connect began (performance.now()). */
  readonly since: number;
  /** When its first and its latest answers came, if one did. */
  firstAnswerAt: number | null;
  lastAnswerAt: number | null;
  /** Answers it received. */
  answers: number;
  /** The socket error that ended it, if one did (ECONNRESET: the server side was reset, not closed). */
  error: string | null;
}

/**
 * The load of a chaos run, and its tally: short connections and pipelined
 * ones against one server until `deadline`, every answer checked against
 * fib(n), every wait bounded by HUNG_MS. A killer runs beside it and reports
 * each kill here.
 */
export class ChaosLoad {
  readonly #host: string;
  readonly #port: number;
  readonly #serverPid: number;
  readonly #random: Random;
  readonly #deadline: number;
  /** How long the load runs. */
  readonly durationMs: number;
  readonly #answers: readonly string[];
  readonly #live = new Set<Tracked>();
  readonly #kills: KillRecord[] = [];
  readonly #started = performance.now();
  #ended: number | null = null;
  readonly figures: ChaosFigures = {
    seconds: 0,
    kills: 0,
    handoverKills: 0,
    connections: 0,
    requests: 0,
    answered: 0,
    errInternal: 0,
    cut: 0,
    inTransit: 0,
    cutElsewhere: 0,
    lost: 0,
    hung: 0,
    refused: 0,
    wrong: 0,
  };
  readonly #notes = new Map<string, number>();

  readonly #shortPauseMs: number;

  constructor(
    server: { host: string; port: number; pid: number },
    random: Random,
    seconds: number,
    shortPauseMs: number,
  ) {
    this.#shortPauseMs = shortPauseMs;
    this.#host = server.host;
    this.#port = server.port;
    this.#serverPid = server.pid;
    this.#random = random;
    this.durationMs = seconds * 1000;
    this.#deadline = this.#started + this.durationMs;
    // Once, not per answer: the naive fib(30) alone is ~10 ms.
    this.#answers = Array.from({ length: FAULT_N + 1 }, (_, n) => String(fib(n)));
  }

  /** Whether the load is still to go on. */
  running(): boolean {
    return performance.now() < this.#deadline;
  }

  /**
   * Runs every client until the deadline; resolves once each has finished
   * (every wait is bounded, so soon after the deadline).
   */
  async run(): Promise<void> {
    // The loops count their rounds too, a bound that holds even if the clock
    // does not: one a millisecond, more than a client with its pauses makes.
    const maxRounds = Math.ceil(this.durationMs);
    await Promise.all([
      ...Array.from({ length: SHORT_CLIENTS }, () => this.#shortClient(maxRounds)),
      ...Array.from({ length: PIPELINED_CLIENTS }, () => this.#pipelinedClient(maxRounds)),
    ]);
    this.#ended = performance.now();
  }

  /** Once the load and the killer are done: destroys any connection still open (none, when all went well). */
  finish(): void {
    for (const tracked of this.#live) tracked.client.destroy();
    this.#live.clear();
  }

  /** Called by the killer right after a worker process is killed. */
  recordKill(record: Omit<KillRecord, 'at'>): KillRecord;
  recordKill(record: null): null;
  recordKill(record: Omit<KillRecord, 'at'> | null): KillRecord | null {
    this.figures.kills++;
    if (record === null) return null;
    if (record.handover) this.figures.handoverKills++;
    const recorded = { ...record, at: performance.now() };
    this.#kills.push(recorded);
    return recorded;
  }

  /** Whether every connection in transit at `kill` has since been answered or closed. */
  settled(kill: KillRecord): boolean {
    for (const tracked of this.#live) {
      const answered = tracked.lastAnswerAt !== null && tracked.lastAnswerAt > kill.at;
      if (tracked.since <= kill.at && kill.inTransit.has(tracked.port) && !answered) return false;
    }
    return true;
  }

  /** Figures as they stand, with the load's duration. */
  snapshot(): ChaosFigures {
    return { ...this.figures, seconds: ((this.#ended ?? performance.now()) - this.#started) / 1000 };
  }

  async #shortClient(maxRounds: number): Promise<void> {
    for (let round = 0; round < maxRounds && this.running(); round++) {
      const tracked = await this.open('short');
      if (tracked === null) {
        await sleep(RETRY_PAUSE_MS);
        continue;
      }
      if (await this.ask(tracked, [pickN(this.#random)])) this.close(tracked);
      await sleep(between(this.#random, 0, this.#shortPauseMs));
    }
  }

  async #pipelinedClient(maxRounds: number): Promise<void> {
    let tracked: Tracked | null = null;
    for (let round = 0; round < maxRounds && this.running(); round++) {
      tracked ??= await this.open('pipelined');
      if (tracked === null) {
        await sleep(RETRY_PAUSE_MS);
        continue;
      }
      const size = BATCH_MIN + Math.floor(this.#random() * (BATCH_MAX - BATCH_MIN + 1));
      const batch = Array.from({ length: size }, () => pickN(this.#random));
      // A connection cut or hung is done with: the next round opens another.
      if (!(await this.ask(tracked, batch))) tracked = null;
      await sleep(between(this.#random, 0, BATCH_PAUSE_MS));
    }
    if (tracked !== null) this.close(tracked);
  }

  /** Opens a connection, or counts it refused or hung and returns null. */
  async open(kind: ClientKind): Promise<Tracked | null> {
    this.figures.connections++;
    const since = performance.now();
    try {
      const client = await RawClient.connect(this.#port, this.#host, HUNG_MS);
      const port = client.socket.localPort!;
      const tracked: Tracked = {
        kind,
        client,
        port,
        since,
        firstAnswerAt: null,
        lastAnswerAt: null,
        answers: 0,
        error: null,
      };
      client.socket.once('error', (error: NodeJS.ErrnoException) => {
        tracked.error = error.code ?? error.message;
      });
      this.#live.add(tracked);
      return tracked;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      if (code === 'ETIMEDOUT') {
        this.figures.hung++;
        this.#note(`a connect was neither accepted nor refused within ${HUNG_MS} ms`);
      } else {
        this.figures.refused++;
        this.#note(`a connect failed: ${code}`);
      }
      return null;
    }
  }

  close(tracked: Tracked): void {
    this.#live.delete(tracked);
    tracked.client.end();
  }

  /**
   * Sends `ns` pipelined and checks every answer: its fib, or `ERR internal`.
   * With `fault`, the requests are the fault killer's: `ERR internal` is the
   * kill it asked for. Resolves false once the connection is cut or hung.
   */
  async ask(tracked: Tracked, ns: readonly number[], fault = false): Promise<boolean> {
    const { client } = tracked;
    if (!fault) this.figures.requests += ns.length;
    // A write to a connection the server closed fails: the end of the stream below tells.
    client.write(ns.map((n) => `${n}\n`).join('')).catch(() => {});
    for (let i = 0; i < ns.length; i++) {
      const n = ns[i]!;
      let line: string | null;
      try {
        line = await client.line(HUNG_MS);
      } catch {
        this.figures.hung++;
        const holder = `${this.#holder(tracked)}${this.#killsOf(tracked)}`;
        this.#note(`${this.#name(tracked)}: no answer to fib(${n}) nor a close within ${HUNG_MS} ms; ${holder}`);
        this.#forget(tracked);
        return false;
      }
      if (line === null) {
        this.#cut(tracked, ns.length - i);
        return false;
      }
      if (tracked.firstAnswerAt === null && line.startsWith('ERR busy')) {
        this.figures.refused++;
        this.#note(`${this.#name(tracked)}: refused with ${JSON.stringify(line)}`);
        this.#forget(tracked);
        return false;
      }
      tracked.lastAnswerAt = performance.now();
      tracked.firstAnswerAt ??= tracked.lastAnswerAt;
      tracked.answers++;
      if (line.startsWith('ERR internal')) {
        if (fault) this.figures.kills += FAULT_DEATHS;
        else this.figures.errInternal++;
      } else if (line === this.#answers[n] && !fault) {
        this.figures.answered++;
      } else {
        this.figures.wrong++;
        const expected = fault ? 'ERR internal: is the fault hook armed?' : this.#answers[n];
        this.#note(`${this.#name(tracked)}: fib(${n}) answered ${JSON.stringify(line)}, expected ${expected}`);
      }
    }
    return true;
  }

  /** A connection the server closed with `unanswered` requests left: allowed only if a killed worker held it. */
  #cut(tracked: Tracked, unanswered: number): void {
    this.#live.delete(tracked);
    this.figures.cut++;
    this.figures.lost += unanswered;
    // Kills after this connection began, while it was held by the victim or
    // on its way to a worker (before any answer: a socket in transit).
    const kills = this.#kills.filter((kill) => kill.at >= tracked.since);
    if (kills.some((kill) => kill.victim.has(tracked.port))) return;
    const beforeAnswer = (kill: KillRecord) => tracked.firstAnswerAt === null || kill.at < tracked.firstAnswerAt;
    if (kills.some((kill) => kill.inTransit.has(tracked.port) && beforeAnswer(kill))) {
      this.figures.inTransit++;
      return;
    }
    this.figures.cutElsewhere++;
    const how = tracked.error ?? 'closed';
    this.#note(
      `${this.#name(tracked)}: cut (${how}, after ${tracked.answers} answers) though no killed worker held it`,
    );
  }

  #name(tracked: Tracked): string {
    const age = ((performance.now() - tracked.since) / 1000).toFixed(1);
    return `${tracked.kind} connection from port ${tracked.port} (${age} s old)`;
  }

  /** The kills that recorded this connection as held by their victim or in transit, described. */
  #killsOf(tracked: Tracked): string {
    const now = performance.now();
    const described = this.#kills
      .filter((kill) => kill.at >= tracked.since)
      .flatMap((kill) => {
        const ago = `${((now - kill.at) / 1000).toFixed(1)} s ago`;
        const how = kill.handover ? 'a handover kill' : 'a kill';
        if (kill.victim.has(tracked.port)) return [`held by worker ${kill.pid}, killed ${ago} (${how})`];
        if (kill.inTransit.has(tracked.port)) return [`in transit when worker ${kill.pid} was killed ${ago} (${how})`];
        return [];
      });
    return described.length === 0 ? '' : `; ${described.join('; ')}`;
  }

  /** Which process holds the server side of a connection now (parent or worker), from /proc. */
  #holder(tracked: Tracked): string {
    const workers = children(this.#serverPid);
    const holders = [...clientPortsHeld(this.#port, [this.#serverPid, ...workers])]
      .filter(([, ports]) => ports.has(tracked.port))
      .map(([pid]) => (pid === this.#serverPid ? `the parent ${pid}` : `worker ${pid}`));
    const ages = workers.map((pid) => `${((ageMs(pid) ?? 0) / 1000).toFixed(1)} s`);
    const held = holders.length === 0 ? 'no server process holds it' : `held by ${holders.join(' and ')}`;
    const threads = threadCount(this.#serverPid);
    return `${held}; now ${workers.length} child processes (${ages.join(', ')} old), ${threads} threads in the parent`;
  }

  /** The anomalies seen, described; repeats counted. */
  get notes(): string[] {
    return [...this.#notes].map(([text, count]) => (count === 1 ? text : `${text} (x${count})`));
  }

  #forget(tracked: Tracked): void {
    this.#live.delete(tracked);
    tracked.client.destroy();
  }

  #note(text: string): void {
    const count = this.#notes.get(text);
    if (count !== undefined) this.#notes.set(text, count + 1);
    else if (this.#notes.size < MAX_NOTES) this.#notes.set(text, 1);
  }
}
