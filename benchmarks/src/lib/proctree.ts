import { readdirSync, readFileSync } from 'node:fs';

/**
 * The pids of `root` and all its descendants, from /proc (Linux). The
 * kernel's per-task `children` files need CONFIG_PROC_CHILDREN, which not
 * every kernel has, so the parent links are read from every /proc/<pid>/stat.
 * Returns [] where there is no /proc.
 */
export function processTree(root: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const ppid = parentOf(pid);
    if (ppid === null) continue;
    const siblings = children.get(ppid);
    if (siblings) siblings.push(pid);
    else children.set(ppid, [pid]);
  }
  const tree: number[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    tree.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree;
}

function parentOf(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null; // exited between readdir and read
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : null;
}

/** The kernel's start time of a process (field 22 of /proc/<pid>/stat): a pid and this name one process. */
export function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * Proportional set size of one process in bytes (Pss in smaps_rollup, Linux
 * 4.14 and later): its private pages plus its share of the pages it shares, a
 * page mapped by n processes counting 1/n in each. Summed over a process
 * tree, it counts the node binary's pages that forked children share once,
 * where RSS would count them once per process. Null when the process has
 * gone or the kernel does not say.
 */
export function proportionalBytes(pid: number): number | null {
  let rollup: string;
  try {
    rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
  } catch {
    return null;
  }
  const match = /^Pss:\s+(\d+) kB$/m.exec(rollup);
  return match ? Number(match[1]) * 1024 : null; // a zombie has no mappings
}

/** Memory sampling period: a fork-per-connection child lives as long as its connection (a whole run), so 200 ms catches it. */
const SAMPLE_MS = 200;

/**
 * Samples the summed PSS of a process and its descendants while a server
 * runs and keeps the peak. The sum is taken at one instant, so the peak is
 * what the machine had to hold at once (not the sum of each process's own peak).
 */
export class TreeSampler {
  readonly #root: number;
  #timer: NodeJS.Timeout | undefined;
  #peakBytes: number | null = null;
  #peakProcesses = 0;
  /**
   * Every descendant seen, with its start time: after the server exits, its
   * children are re-parented and no longer in its tree, so this is how the
   * bench finds the ones left behind, without mistaking a reused pid for one.
   */
  readonly seen = new Map<number, string>();

  constructor(root: number) {
    this.#root = root;
  }

  start(): void {
    this.sample();
    this.#timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  sample(): void {
    const tree = processTree(this.#root);
    let total = 0;
    let counted = 0;
    for (const pid of tree) {
      const bytes = proportionalBytes(pid);
      if (bytes === null) continue;
      total += bytes;
      counted++;
      if (pid !== this.#root && !this.seen.has(pid)) {
        const started = startTime(pid);
        if (started !== null) this.seen.set(pid, started);
      }
    }
    if (counted === 0) return;
    if (this.#peakBytes === null || total > this.#peakBytes) this.#peakBytes = total;
    if (counted > this.#peakProcesses) this.#peakProcesses = counted;
  }

  /** Peak summed PSS in bytes, or null where /proc could not be read. */
  get peakBytes(): number | null {
    return this.#peakBytes;
  }

  /** Most processes seen in the tree at once (the server included). */
  get peakProcesses(): number {
    return this.#peakProcesses;
  }
}
