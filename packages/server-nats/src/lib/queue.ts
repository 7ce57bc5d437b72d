import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstreamManager,
  type ConsumerConfig,
  type StreamConfig,
} from '@nats-io/jetstream';
import { ACK_WAIT_MS, MAX_DELIVER, type QueueNames } from './wire.js';

/**
 * Jobs a connection may have pending is bounded by --max-pipeline, the whole
 * server by --max-queue: the stream needs no limit of its own beyond a safety
 * net against a runaway front-end, and a job is a few dozen bytes.
 */
const MAX_STREAM_MESSAGES = 1_000_000;
/** Pulls that may wait at the consumer: one per free worker slot, across every host. */
const MAX_WAITING_PULLS = 4096;
/**
 * Publishes retried after a lost acknowledgement carry the same message id
 * within this window, so JetStream stores the job once (its deduplication).
 */
const DUPLICATE_WINDOW_MS = 60_000;

/** Where the stream keeps its jobs: see StreamSettings. */
export type Storage = 'memory' | 'file';
export const STORAGES: readonly Storage[] = ['memory', 'file'];

/** How the first front-end creates the stream. */
export interface StreamSettings {
  /** Copies of the stream across a cluster's nodes (1 to MAX_REPLICAS). */
  readonly replicas: number;
  /**
   * 'memory' (the default): every job is also held by the front-end that
   * asked until it is answered, and published again after a reconnect, so a
   * copy on disk saves no request; storing and deleting it there cost
   * nats-server about a third of its CPU per job. With replicas, a lost node's
   * jobs live on in the others' memory. 'file': for a stream other clients
   * read too, or to keep jobs across a restart of every node.
   */
  readonly storage: Storage;
}

function streamConfig(names: QueueNames, settings: StreamSettings): Partial<StreamConfig> & { name: string } {
  return {
    name: names.stream,
    subjects: [names.subject],
    retention: RetentionPolicy.Workqueue,
    storage: settings.storage === 'file' ? StorageType.File : StorageType.Memory,
    num_replicas: settings.replicas,
    max_msgs: MAX_STREAM_MESSAGES,
    duplicate_window: DUPLICATE_WINDOW_MS * 1e6,
  };
}

function consumerConfig(names: QueueNames): Partial<ConsumerConfig> {
  return {
    durable_name: names.consumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ACK_WAIT_MS * 1e6,
    max_deliver: MAX_DELIVER,
    max_waiting: MAX_WAITING_PULLS,
    // Every delivered job may be in hand at once: the workers' slots are the limit, not the consumer.
    max_ack_pending: -1,
  };
}

/** JetStream's "stream not found" error code. */
const STREAM_NOT_FOUND = 10059;

/**
 * A JetStream cluster that has just started elects its meta leader within
 * seconds; until then every API call fails ("temporarily unavailable", or a
 * timeout). Set-up is tried again for this long before the front-end gives up.
 */
const SETUP_TIMEOUT_MS = 30_000;
const SETUP_RETRY_MS = 500;

/**
 * ensureQueue, tried again while JetStream is not ready yet (a cluster
 * electing its leader). The first failure is told to `log`, so that a start
 * that waits says why.
 */
export async function setUpQueue(
  nc: NatsConnection,
  names: QueueNames,
  settings: StreamSettings,
  log: (line: string) => void = () => {},
): Promise<void> {
  const deadline = Date.now() + SETUP_TIMEOUT_MS;
  for (let said = false; ; said = true) {
    try {
      await ensureQueue(nc, names, settings);
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`cannot set up the work queue: ${setUpFailure(error)}`, { cause: error });
      if (!said)
        log(`JetStream is not ready yet (${setUpFailure(error)}); trying again for up to ${SETUP_TIMEOUT_MS / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, SETUP_RETRY_MS));
  }
}

/** Why set-up failed, with the fix when the server runs without JetStream (nats.js names that error). */
function setUpFailure(error: unknown): string {
  if (error instanceof Error && error.name === 'JetStreamNotEnabled') {
    return 'the NATS server runs without JetStream: start nats-server with -js, or jetstream {} in its configuration';
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates the work-queue stream and its durable pull consumer if they do not
 * exist yet; every front-end does this at start, and the first one wins.
 * A stream made earlier with other settings (replicas, storage) is used as it is.
 */
export async function ensureQueue(nc: NatsConnection, names: QueueNames, settings: StreamSettings): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(names.stream);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== STREAM_NOT_FOUND) throw error;
    try {
      await jsm.streams.add(streamConfig(names, settings));
    } catch (again) {
      // Another front-end created it in between: fine.
      if (!(again instanceof JetStreamApiError)) throw again;
      await jsm.streams.info(names.stream);
    }
  }
  await jsm.consumers.add(names.stream, consumerConfig(names));
}

/** Removes a queue (a private one, when its front-end stops). */
export async function deleteQueue(nc: NatsConnection, names: QueueNames): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(names.stream);
}
