// The comparisons with the raw baselines of benchmarks/baselines
// (`npm run measure -- server|perf`). Servers alternate round by round, each
// ratio is taken within a round (same conditions), and the figure is the
// median over rounds.
import {
  baselineScript,
  cRate,
  fixed,
  fmt,
  median,
  perf2Rate,
  ratio,
  startScript,
  strategyBin,
  sum,
  type RunningServer,
} from './tools.js';

export interface BaselineOptions {
  /** The server measured: a strategy name (`async`) or a path to any script that prints the ready line. */
  readonly server: string;
  readonly rounds: number;
  readonly seconds: number;
  /** Requests in flight per connection for the deep figure. */
  readonly depth: number;
  /** Writes a progress line per round (stderr in the CLI). */
  readonly log: (line: string) => void;
}

/** Before the rounds: a second of pipelined load on each server, so that neither is measured cold. */
const WARMUP_ARGS = ['--pipeline', '16', '--duration', '1'];

function serverScript(server: string): string {
  return server.includes('/') || server.endsWith('.js') || server.endsWith('.mjs') ? server : strategyBin(server);
}

/** Runs `measure` on `a` then `b` in even rounds, `b` then `a` in odd ones, so neither always goes second. */
async function alternate<T>(
  round: number,
  measure: (server: RunningServer) => Promise<T>,
  a: RunningServer,
  b: RunningServer,
) {
  if (round % 2 === 0) {
    const first = await measure(a);
    return [first, await measure(b)] as const;
  }
  const second = await measure(b);
  return [await measure(a), second] as const;
}

async function withServers<T>(scripts: readonly string[], body: (servers: RunningServer[]) => Promise<T>): Promise<T> {
  const servers: RunningServer[] = [];
  try {
    for (const script of scripts) servers.push(await startScript(script));
    for (const server of servers) await perf2Rate(server.port, WARMUP_ARGS);
    return await body(servers);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

/**
 * What the protocol's safety costs a real server: at depth 1 against the
 * bare net server (with the C client, and with fib-perf2 for both), and at
 * `depth` against the bare line server.
 */
export function measureServer(options: BaselineOptions): Promise<object> {
  const { rounds, seconds, depth, log } = options;
  const duration = String(seconds);
  const scripts = [serverScript(options.server), baselineScript('bare-net-server'), baselineScript('line-server')];
  return withServers(scripts, async ([target, bare, line]) => {
    const rows = { c: [] as number[], perf2: [] as number[], deep: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      const [cServer, cBare] = await alternate(i, (s) => cRate(s.port, seconds), target!, bare!);
      const [pServer, pBare] = await alternate(
        i,
        (s) => perf2Rate(s.port, ['--warmup', '0.3', '--duration', duration]),
        target!,
        bare!,
      );
      const [dServer, dLine] = await alternate(
        i,
        (s) => perf2Rate(s.port, ['--pipeline', String(depth), '--warmup', '0.5', '--duration', duration]),
        target!,
        line!,
      );
      rows.c.push(ratio(cServer, cBare));
      rows.perf2.push(ratio(pServer, pBare));
      rows.deep.push(ratio(dServer, dLine));
      log(
        `round ${i + 1}: depth 1 (C) ${fmt(cServer)} vs bare ${fmt(cBare)}; depth 1 (fib-perf2) ${fmt(pServer)} ` +
          `vs bare ${fmt(pBare)}; depth ${depth} ${fmt(dServer)} vs line ${fmt(dLine)}`,
      );
    }
    return {
      server: options.server,
      rounds,
      seconds,
      depth,
      depth1VsBareNetWithC: fixed(median(rows.c), 3),
      depth1VsBareNetWithPerf2: fixed(median(rows.perf2), 3),
      deepVsLineServer: fixed(median(rows.deep), 3),
    };
  });
}

/**
 * What the load generator costs: fib-perf2 against the C client at depth 1
 * on the same server, and fib-perf2 at `depth` against that server and
 * against the bare line server.
 */
export function measurePerf(options: BaselineOptions & { connections: number }): Promise<object> {
  const { rounds, seconds, depth, connections, log } = options;
  const duration = String(seconds);
  const scripts = [serverScript(options.server), baselineScript('line-server')];
  return withServers(scripts, async ([target, line]) => {
    const depth1: { c: number; node: number }[] = [];
    for (let i = 0; i < rounds; i++) {
      const c = () => cRate(target!.port, seconds);
      const node = () => perf2Rate(target!.port, ['--warmup', '0.5', '--duration', duration]);
      // Alternate which client goes first so that neither always gets the warmer server.
      const pair = i % 2 === 0 ? { c: await c(), node: await node() } : { node: await node(), c: await c() };
      depth1.push(pair);
      log(`depth 1, round ${i + 1}: C ${fmt(pair.c)}/s, fib-perf2 ${fmt(pair.node)}/s`);
    }
    const deep: { server: number; bare: number }[] = [];
    const flags = ['--pipeline', String(depth), '--connections', String(connections), '--warmup', '0.5'];
    for (let i = 0; i < rounds; i++) {
      const [server, bare] = await alternate(
        i,
        (s) => perf2Rate(s.port, [...flags, '--duration', duration]),
        target!,
        line!,
      );
      deep.push({ server, bare });
      log(`depth ${depth}, round ${i + 1}: server ${fmt(server)}/s, line-server ${fmt(bare)}/s`);
    }
    return {
      server: options.server,
      rounds,
      seconds,
      depth1: {
        c: median(depth1.map((r) => r.c)),
        perf2: median(depth1.map((r) => r.node)),
        ratio: fixed(median(depth1.map((r) => ratio(r.node, r.c))), 3),
        // Less sensitive to one round's hiccup than a median over few rounds: all answers over all time.
        ratioOfTotals: fixed(ratio(sum(depth1.map((r) => r.node)), sum(depth1.map((r) => r.c))), 3),
      },
      deep: {
        depth,
        connections,
        server: median(deep.map((r) => r.server)),
        lineServer: median(deep.map((r) => r.bare)),
        ratio: fixed(median(deep.map((r) => ratio(r.server, r.bare))), 3),
      },
    };
  });
}
