import type { TestFn } from 'ava';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fib } from '@fib/core';
import { killer } from './chaos-killers.js';
import { startupTicks } from './chaos-victims.js';
import { ChaosLoad, HUNG_MS, seededRandom, type ChaosFigures } from './chaos-load.js';
import { CHAOS_TARGETS, chaosLaunch, type ChaosStrategy, type ChaosTarget } from './chaos-targets.js';
import { children, descendants, isAlive, threadCount, waitGone } from './processes.js';
import { RawClient } from './raw-client.js';
import { killIfRunning, serverStarter, type ServerRun } from './spawn.js';
import { until } from './until.js';

export interface ChaosOptions {
  /** Seconds the load runs. */
  readonly seconds: number;
  /** Seconds between two kills, at random within [low, high]. */
  readonly killEvery: readonly [number, number];
  /** --workers, for the strategies that take it. */
  readonly workers: number;
  /** Seeds the load's and the killer's random choices. */
  readonly seed: number;
}

/** The run CI makes: about 10 s per strategy, a kill every 0.3 to 0.5 s, two workers on two cores. */
export const CHAOS_DEFAULTS = { seconds: 10, killEvery: [0.3, 0.5], workers: 2 } as const;

/** A run that killed fewer workers proved nothing; a 10 s run kills about 20, so a slow machine cannot miss it. */
const MIN_KILLS = 3;
/** How long the server may take to be back to full strength after the load (a guard, not a timing). */
const RECOVERY_MS = 20_000;
/** Fresh connections after the chaos, one request each, all of which must be answered. */
const FRESH_REQUESTS = 20;
const FRESH_N = 20;
/** Bound on one fresh request (twenty at once may each start a process first, under fork). */
const FRESH_TIMEOUT_MS = 20_000;
/** The default --shutdown-timeout (10 s) with room to spare: past it, SIGTERM has failed. */
const STOP_WAIT_MS = 30_000;
/** How long the server's processes may take to go once it exited. */
const GONE_MS = 15_000;
/** Lines of the server's stderr a failed run's report ends with. */
const LOG_TAIL_LINES = 20;

export interface ChaosCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface ChaosReport {
  readonly strategy: ChaosStrategy;
  readonly options: ChaosOptions;
  readonly figures: ChaosFigures;
  /** The bar, one entry per rule: the run passed if every one is ok. */
  readonly checks: readonly ChaosCheck[];
  /** The first anomalies seen, described. */
  readonly notes: readonly string[];
  /** When a rule failed, the end of the server's stderr; else empty. */
  readonly serverLog: string;
  /** Seconds each phase took, for the record (never judged). */
  readonly phases: Readonly<Record<'setup' | 'load' | 'recovery' | 'fresh' | 'stop', number>>;
}

const check = (name: string, ok: boolean, detail: string): ChaosCheck => ({ name, ok, detail });

/**
 * The chaos run (docs/workers.md, checked from outside): `server`, started
 * with chaosLaunch's flags, is loaded with short and pipelined connections
 * while a random worker is killed every `killEvery` seconds; then it must be
 * back to full strength, answer fresh requests, and exit 0 on one SIGTERM,
 * leaving no process behind. It stops the server. Nothing is printed: the
 * report says what was counted and which rules held.
 */
export async function runChaos(server: ServerRun, target: ChaosTarget, options: ChaosOptions): Promise<ChaosReport> {
  const clock = phaseClock();
  if (target.kill === 'process' && target.pooled) {
    await until(() => children(server.pid).length === options.workers, 'every worker is up', RECOVERY_MS);
  }
  // The server is ready: its first workers have started, and show what a start costs.
  const ticks = startupTicks(children(server.pid));
  // An idle server's threads: the worker threads are back when they are again this many.
  const idleThreads = threadCount(server.pid);
  const random = seededRandom(options.seed);
  const load = new ChaosLoad(server, random, options.seconds, target.shortPauseMs);
  const setup = clock();
  const killing = killer({ load, target, server, killEvery: options.killEvery, random, startupTicks: ticks });
  await Promise.all([load.run(), killing]);
  load.finish();
  const figures = load.snapshot();
  const checks = [
    check('the server ran throughout', running(server), running(server) ? 'running' : exitText(server)),
    ...loadChecks(target, figures),
  ];
  const loadSeconds = clock();
  checks.push(await fullStrength(target, server, options, idleThreads));
  const recovery = clock();
  checks.push(await freshRequests(server));
  const fresh = clock();
  checks.push(...(await stopChecks(server)));
  const phases = { setup, load: loadSeconds, recovery, fresh, stop: clock() };
  const failed = checks.some((c) => !c.ok);
  const serverLog = failed ? server.stderr().trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n') : '';
  return { strategy: target.strategy, options, figures, checks, notes: load.notes, serverLog, phases };
}

/** Each call returns the seconds since the previous one. */
function phaseClock(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const seconds = (now - last) / 1000;
    last = now;
    return seconds;
  };
}

const running = (server: ServerRun) => server.child.exitCode === null && server.child.signalCode === null;
const exitText = (server: ServerRun) => `exited, code ${server.child.exitCode}, signal ${server.child.signalCode}`;

function loadChecks(target: ChaosTarget, f: ChaosFigures): ChaosCheck[] {
  const checks = [
    check(`workers were killed (${MIN_KILLS} at least)`, f.kills >= MIN_KILLS, `${f.kills} kills`),
    check('the load was served', f.answered > 0, `${f.answered} answered`),
    check(`no connection waited ${HUNG_MS / 1000} s without an answer or a close`, f.hung === 0, `${f.hung} hung`),
    check('no answer was wrong', f.wrong === 0, `${f.wrong} wrong`),
    check('no connection was refused', f.refused === 0, `${f.refused} refused`),
  ];
  const got = f.answered + f.errInternal;
  if (target.socketsIn === 'parent') {
    checks.push(
      check('no connection was cut', f.cut === 0, `${f.cut} cut`),
      check('every request got its fib or ERR internal', got === f.requests, `${got} of ${f.requests}`),
    );
  } else {
    checks.push(
      check(
        'only connections a killed worker held were cut',
        f.cutElsewhere === 0,
        `${f.cutElsewhere} of ${f.cut} cut held by none`,
      ),
      check(
        'every request not lost with a cut connection got its fib or ERR internal',
        got + f.lost === f.requests,
        `${got} + ${f.lost} lost of ${f.requests}`,
      ),
    );
  }
  return checks;
}

/** The pool is whole again (or, without a pool, the per-connection workers are gone with their clients). */
async function fullStrength(
  target: ChaosTarget,
  server: ServerRun,
  options: ChaosOptions,
  idleThreads: number,
): Promise<ChaosCheck> {
  let name: string;
  let count: () => number;
  let expected: number;
  if (target.kill === 'fault') {
    name = target.pooled ? 'worker threads restored' : "every connection's thread ended with it";
    count = () => threadCount(server.pid);
    expected = idleThreads;
  } else {
    name = target.pooled ? `worker count restored (${options.workers})` : "every connection's child ended with it";
    count = () => children(server.pid).length;
    expected = target.pooled ? options.workers : 0;
  }
  const unit = target.kill === 'fault' ? 'threads' : 'child processes';
  try {
    // A server that exited will not recover: no use waiting for it.
    await until(() => count() === expected || !running(server), name, RECOVERY_MS);
    if (!running(server)) return check(name, false, `the server ${exitText(server)}`);
    return check(name, true, `${expected} ${unit}`);
  } catch {
    return check(name, false, `${count()} ${unit}, not ${expected}, after ${RECOVERY_MS / 1000} s`);
  }
}

async function freshRequests(server: ServerRun): Promise<ChaosCheck> {
  const expected = String(fib(FRESH_N));
  const answers = await Promise.all(
    Array.from({ length: FRESH_REQUESTS }, async () => {
      let client: RawClient | undefined;
      try {
        client = await RawClient.connect(server.port, server.host, FRESH_TIMEOUT_MS);
        await client.write(`${FRESH_N}\n`);
        return await client.line(FRESH_TIMEOUT_MS);
      } catch {
        return null;
      } finally {
        client?.end();
      }
    }),
  );
  const answered = answers.filter((answer) => answer === expected).length;
  return check(
    `${FRESH_REQUESTS} of ${FRESH_REQUESTS} fresh requests answered`,
    answered === FRESH_REQUESTS,
    `${answered} answered`,
  );
}

async function stopChecks(server: ServerRun): Promise<ChaosCheck[]> {
  const processes = descendants(server.pid);
  // The bound's timer must not outlive the race: it would keep a CLI's process up for its whole length.
  const bound = new AbortController();
  const exit = await Promise.race([
    server.stop('SIGTERM'),
    sleep(STOP_WAIT_MS, null, { signal: bound.signal }).catch(() => null),
  ]);
  bound.abort();
  if (exit === null) await killIfRunning(server);
  let left: number[] = [];
  try {
    await waitGone(processes, GONE_MS);
  } catch {
    // Reported below; and they are ours to end, so that no test leaves them running.
    left = processes.filter(isAlive);
    for (const pid of left) process.kill(pid, 'SIGKILL');
  }
  return [
    check(
      'one SIGTERM: the server exits 0',
      exit !== null && exit.code === 0 && exit.signal === null,
      exit === null ? `still running after ${STOP_WAIT_MS / 1000} s` : `code ${exit.code}, signal ${exit.signal}`,
    ),
    check(
      'no process left behind',
      left.length === 0,
      left.length === 0 ? `${processes.length} gone` : `left: ${left.join(', ')}`,
    ),
  ];
}

/** The report as text: one line of figures, one line per rule, then the notes. */
export function formatReport(report: ChaosReport): string {
  const { strategy, options, figures: f, checks, notes, serverLog, phases } = report;
  const [low, high] = options.killEvery;
  const took = Object.entries(phases)
    .map(([phase, seconds]) => `${phase} ${seconds.toFixed(1)}`)
    .join(', ');
  const lines = [
    `${strategy}: load ${f.seconds.toFixed(1)} s, a kill every ${low}-${high} s, seed ${options.seed} (seconds: ${took})`,
    `  kills ${f.kills} (at a handover ${f.handoverKills}), connections ${f.connections}, requests ${f.requests}, answered ${f.answered}, ` +
      `ERR internal ${f.errInternal}, cut ${f.cut} (in transit ${f.inTransit}, held by none ${f.cutElsewhere}, ` +
      `requests lost ${f.lost}), hung ${f.hung}, refused ${f.refused}, wrong ${f.wrong}`,
    ...checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    ...notes.map((note) => `  note: ${note}`),
    ...(serverLog === '' ? [] : ['  server stderr (end):', ...serverLog.split('\n').map((line) => `    ${line}`)]),
  ];
  return lines.join('\n');
}

/** Seeds a run at random; the report prints it. */
export const chaosSeed = () => randomInt(2 ** 31);

/**
 * The chaos run as one ava test of `strategy`, with CHAOS_DEFAULTS; it logs
 * the report and asserts every rule of it.
 */
export function chaosSuite(test: TestFn, strategy: ChaosStrategy): void {
  const target = CHAOS_TARGETS[strategy];
  const start = serverStarter(test, target.pkg, target.bin);
  const [low, high] = CHAOS_DEFAULTS.killEvery;
  const how = target.kill === 'process' ? 'SIGKILLed' : 'killed by the fault hook';
  const cuts = target.socketsIn === 'parent' ? 'none cut' : "only a dead worker's connections cut";
  test(`a worker ${how} every ${low}-${high} s under load: nothing hung, wrong or refused, ${cuts}; then full strength, and SIGTERM exits 0 leaving nothing`, async (t) => {
    const options: ChaosOptions = { ...CHAOS_DEFAULTS, seed: chaosSeed() };
    const { args, env } = chaosLaunch(target, options.workers);
    const server = await start(args, env);
    const report = await runChaos(server, target, options);
    t.log(formatReport(report));
    for (const c of report.checks) t.true(c.ok, `${c.name}: ${c.detail}`);
  });
}
