import { WORKER_FAULT_ENV } from '@fib/core/testing';

export const CHAOS_STRATEGIES = ['thread', 'pool', 'fork', 'process-pool', 'queue', 'cluster'] as const;
export type ChaosStrategy = (typeof CHAOS_STRATEGIES)[number];

/** A strategy with workers, as the chaos run sees it. */
export interface ChaosTarget {
  readonly strategy: ChaosStrategy;
  /** The package and its bin, e.g. '@fib/server-queue', 'fib-server-queue'. */
  readonly pkg: string;
  readonly bin: string;
  /**
   * How a worker is killed: `process`, SIGKILL to a child process of the
   * server; `fault`, the test fault hook, since a worker thread cannot be
   * killed from outside the process.
   */
  readonly kill: 'process' | 'fault';
  /**
   * Where a connection's socket lives: in the `parent`, which then owes every
   * request its fib or `ERR internal`, or in a `worker` (a fork child, a
   * cluster worker), whose death may cut the connections it held.
   */
  readonly socketsIn: 'parent' | 'worker';
  /** Whether it takes --workers, a pool whose size must be restored after the chaos. */
  readonly pooled: boolean;
  /**
   * Its worker processes are one per connection (fork). A random kill then
   * picks a child serving a connection, and every other kill aims at a
   * child as the server hands it its connection (see handoverKill): the
   * moment its socket is in transit, a few ms of its life that random kills
   * seldom hit. Otherwise a random kill picks a worker that has finished
   * starting (see startedWorkers).
   */
  readonly childPerConnection: boolean;
  /**
   * Pause between two short connections of one client, at random up to this
   * (ms): what a connection costs the server sets how many it can take
   * beside the rest without the load starving the machine.
   */
  readonly shortPauseMs: number;
}

/** Most strategies: a connection costs the server little. */
const SHORT_PAUSE_MS = 20;

export const CHAOS_TARGETS: Readonly<Record<ChaosStrategy, ChaosTarget>> = {
  // Each connection starts a thread (tens of ms of CPU).
  thread: { ...target('thread', 'fault', 'parent', false), shortPauseMs: 100 },
  pool: target('pool', 'fault', 'parent', true),
  // Each connection starts a Node process (about 200 ms of CPU).
  fork: { ...target('fork', 'process', 'worker', false), childPerConnection: true, shortPauseMs: 500 },
  'process-pool': target('process-pool', 'process', 'parent', true),
  queue: target('queue', 'process', 'parent', true),
  cluster: target('cluster', 'process', 'worker', true),
};

function target(
  strategy: ChaosStrategy,
  kill: ChaosTarget['kill'],
  socketsIn: ChaosTarget['socketsIn'],
  pooled: boolean,
): ChaosTarget {
  return {
    strategy,
    pkg: `@fib/server-${strategy}`,
    bin: `fib-server-${strategy}`,
    kill,
    socketsIn,
    pooled,
    childPerConnection: false,
    shortPauseMs: SHORT_PAUSE_MS,
  };
}

/**
 * The n whose jobs kill their worker thread under the fault hook: one above
 * the largest n of the load, so that only the killer's requests kill.
 */
export const FAULT_N = 31;

/**
 * Threads one fault request kills: the one its job was sent to, then the one
 * its retry was sent to (every job for fib(FAULT_N) is fatal); only then is
 * it answered `ERR internal`.
 */
export const FAULT_DEATHS = 2;

/**
 * The command line and environment a chaos run starts `target`'s server
 * with. A pool of threads killed through the fault hook gets FAULT_DEATHS - 1
 * threads more than `workers`: a kill takes FAULT_DEATHS threads at once, and
 * should leave as many serving as one SIGKILL leaves in a pool of processes.
 */
export function chaosLaunch(target: ChaosTarget, workers: number): { args: readonly string[]; env: NodeJS.ProcessEnv } {
  const size = target.kill === 'fault' ? workers + FAULT_DEATHS - 1 : workers;
  const args = target.pooled ? ['--workers', String(size)] : [];
  // Every job for fib(FAULT_N), its retry included, makes its worker exit.
  const env = target.kill === 'fault' ? { [WORKER_FAULT_ENV]: `exit:${FAULT_N}` } : {};
  return { args, env };
}
