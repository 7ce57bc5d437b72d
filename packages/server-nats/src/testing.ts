// Test and benchmark support (`@fib/server-nats/testing`): nats-server
// processes on free loopback ports, one or a cluster, each tied to the
// process that starts it, and the stream leader of a cluster. Not for
// production: fib-server-nats starts its own nats-server (the keeper).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { tiedToParent } from '@fib/core';

export { tiedToParent, type Command } from '@fib/core';
import { queueNames } from './lib/wire.js';

/** nats-server with JetStream is ready in ~50 ms; a loaded 2-core machine takes much longer. */
const READY_TIMEOUT_MS = 20_000;

/** One nats-server started by a test, on loopback. */
export interface NatsNode {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly store: string;
  child: ChildProcess;
  /** SIGKILL (a crash) or SIGTERM; resolves once it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and store (after a kill). */
  restart(): Promise<void>;
}

/** A free loopback port: bound and released, for the processes that need one given in advance (cluster routes). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

interface NodeSpec {
  readonly name: string;
  readonly port: number;
  readonly store: string;
  readonly cluster?: { readonly port: number; readonly routes: readonly number[] };
}

async function launch(spec: NodeSpec): Promise<ChildProcess> {
  const args = ['-a', '127.0.0.1', '-p', String(spec.port), '-js', '-sd', spec.store, '-n', spec.name];
  if (spec.cluster !== undefined) {
    args.push(
      '--cluster_name',
      'fib-test',
      '--cluster',
      `nats://127.0.0.1:${spec.cluster.port}`,
      '--routes',
      spec.cluster.routes.map((port) => `nats://127.0.0.1:${port}`).join(','),
    );
  }
  // Tied to the process that starts it (setpriv's parent-death signal, pid
  // unchanged): a test file that ava kills on a timeout, before any
  // after-hook runs, or a benchmark stopped by Ctrl-C, takes its nats-servers with it.
  // (The signal comes when the spawning thread ends: call this from a main thread.)
  const command = tiedToParent({ file: 'nats-server', args });
  const child = spawn(command.file, command.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server ${spec.name} was not ready within ${READY_TIMEOUT_MS} ms: ${log}`));
    }, READY_TIMEOUT_MS);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (log.length < 8192) log += `${line}\n`;
      if (line.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`nats-server ${spec.name} exited (${signal ?? code}) before it was ready: ${log}`));
    });
  });
  return child;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

export interface NatsStarter {
  single(): Promise<NatsNode>;
  cluster(size: number): Promise<NatsNode[]>;
  /** Kills every server started and removes its store. */
  stopAll(): Promise<void>;
}

/** Stores of the nats-servers this process started and has not stopped yet. */
const stores = new Set<string>();
let removingAtExit = false;

/**
 * A store for a new nats-server. Should the process end without `stopAll`
 * (a test file stopped on a timeout exits from its SIGTERM handler), an exit
 * handler removes what is left; its nats-servers died with it.
 */
function newStore(): string {
  const store = mkdtempSync(join(tmpdir(), 'fib-nats-test-'));
  stores.add(store);
  if (!removingAtExit) {
    removingAtExit = true;
    process.on('exit', () => {
      for (const left of stores) rmSync(left, { recursive: true, force: true });
    });
  }
  return store;
}

/** Starts nats-servers on free loopback ports and remembers them, for `stopAll`. */
export function createNatsStarter(): NatsStarter {
  const nodes: NatsNode[] = [];
  const make = async (spec: NodeSpec): Promise<NatsNode> => {
    const node: NatsNode = {
      name: spec.name,
      port: spec.port,
      url: `nats://127.0.0.1:${spec.port}`,
      store: spec.store,
      child: await launch(spec),
      kill: (signal = 'SIGKILL') => stopChild(node.child, signal),
      restart: async () => {
        node.child = await launch(spec);
      },
    };
    nodes.push(node);
    return node;
  };
  return {
    single: async () =>
      make({
        name: `fib-test-${nodes.length}`,
        port: await freePort(),
        store: newStore(),
      }),
    cluster: async (size) => {
      const ports = await Promise.all(Array.from({ length: size }, freePort));
      const routes = await Promise.all(Array.from({ length: size }, freePort));
      const cluster = await Promise.all(
        ports.map((port, i) =>
          make({
            name: `fib-node-${i}`,
            port,
            store: newStore(),
            cluster: { port: routes[i]!, routes: routes.filter((_, j) => j !== i) },
          }),
        ),
      );
      await Promise.all(cluster.map((node) => untilJetStreamAnswers(node)));
      return cluster;
    },
    stopAll: async () => {
      await Promise.all(nodes.map((node) => stopChild(node.child, 'SIGKILL')));
      for (const node of nodes) {
        rmSync(node.store, { recursive: true, force: true });
        stores.delete(node.store);
      }
    },
  };
}

/**
 * A cluster's nodes are ready one by one, but JetStream answers only once
 * they have elected its meta leader: a second on a quiet machine, many more
 * on a loaded one. A started cluster is handed out once every node answers.
 */
const CLUSTER_READY_TIMEOUT_MS = 60_000;
const CLUSTER_POLL_MS = 200;

async function untilJetStreamAnswers(node: NatsNode): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const deadline = Date.now() + CLUSTER_READY_TIMEOUT_MS;
  const nc = await connect({ servers: node.url });
  try {
    for (;;) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        await jsm.getAccountInfo();
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`nats-server ${node.name}: JetStream did not answer within ${CLUSTER_READY_TIMEOUT_MS} ms`, {
            cause: error,
          });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, CLUSTER_POLL_MS));
    }
  } finally {
    await nc.close();
  }
}

/** The name of the node that leads a queue's stream now (the default queue's unless named), from any node's `url`. */
export async function streamLeader(url: string, queue?: string): Promise<string | undefined> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info(queueNames(queue).stream)).cluster?.leader;
  } finally {
    await nc.close();
  }
}
