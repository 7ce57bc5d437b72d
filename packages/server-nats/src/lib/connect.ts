import { connect, type NatsConnection } from '@nats-io/transport-node';

/** Between two reconnect attempts to one server: a restarted nats-server is found within a quarter second. */
const RECONNECT_WAIT_MS = 250;
/**
 * A server that does not answer PING for this long is taken as gone (the
 * client then reconnects, to another cluster node if there is one). Two
 * missed pings of 2 s: a node killed without closing its sockets (a host
 * that vanished) is left within about 4 s rather than the default 4 minutes.
 */
const PING_INTERVAL_MS = 2000;
const MAX_PINGS_OUT = 2;
/** The first connection: how long one attempt may take before it counts as failed. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * Connects to NATS (`servers`: one URL or a cluster's) and keeps the
 * connection forever: a lost server is retried without end, so that a
 * front-end or a worker outlives a NATS restart and carries on once it is back.
 * `name` shows in the server's connection list (`nats-server -m`, `/connz`).
 */
export async function connectNats(
  servers: readonly string[],
  name: string,
  waitForServer = false,
): Promise<NatsConnection> {
  try {
    return await connectOnce(servers, name, waitForServer);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot reach NATS at ${servers.join(',')}: ${why}`, { cause: error });
  }
}

function connectOnce(servers: readonly string[], name: string, waitForServer: boolean): Promise<NatsConnection> {
  return connect({
    servers: [...servers],
    name,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: MAX_PINGS_OUT,
    timeout: CONNECT_TIMEOUT_MS,
    // A worker host may start before NATS does: it then waits instead of failing.
    waitOnFirstConnect: waitForServer,
    // Otherwise every request (each job's publish) builds an Error, stack
    // trace and all, in case it times out: 5% of a front-end's CPU here.
    noAsyncTraces: true,
  });
}
