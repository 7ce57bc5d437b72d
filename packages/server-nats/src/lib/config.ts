import { OptionError, type StartOptions } from '@fib/core';
import { MAX_REPLICAS, type NatsConfig } from './engine.js';
import { STORAGES, type Storage } from './queue.js';
import { QUEUE_NAME } from './wire.js';

/** The library API's options: the common ones, plus NATS's. */
export interface NatsStartOptions extends StartOptions {
  /** NATS URL(s): an array, or one string with commas (`nats://a:4222,nats://b:4222`). */
  nats?: string | readonly string[];
  /** Stream replicas when this front-end creates the stream (1 to 5; 3 for a three-node cluster). */
  replicas?: number;
  /** The queue's name (letters, digits, `-`, `_`), or 'private' for a queue of this server's own. */
  queue?: string;
  /** Where the stream keeps its jobs when this front-end creates it: 'memory' (default) or 'file'. */
  storage?: Storage;
}

export function checkStorage(value: unknown, label: string): Storage {
  if (!(STORAGES as readonly unknown[]).includes(value)) {
    throw new OptionError(`${label} must be ${STORAGES.join(' or ')} (got ${JSON.stringify(value)})`);
  }
  return value as Storage;
}

export function checkQueue(value: unknown, label: string): string {
  if (typeof value !== 'string' || !QUEUE_NAME.test(value)) {
    throw new OptionError(`${label} must be a name of 1 to 32 letters, digits, - or _ (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** `nats://a:4222,b:4222` or an array of them: the URLs, checked. `label` names the source in errors. */
export function parseNatsUrls(value: string | readonly string[], label: string): string[] {
  const urls = (typeof value === 'string' ? value.split(',') : [...value]).map((url) => url.trim());
  if (urls.length === 0 || urls.some((url) => url === '' || /\s/.test(url))) {
    throw new OptionError(`${label} must be one or more NATS URLs separated by commas (got ${JSON.stringify(value)})`);
  }
  return urls;
}

export function checkReplicas(value: unknown, label: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_REPLICAS) {
    throw new OptionError(`${label} must be an integer from 1 to ${MAX_REPLICAS} (got ${String(value)})`);
  }
  return value;
}

/**
 * Splits the library API's options into the common ones (checked by
 * @fib/core) and NATS's. Reads own properties only and never writes to the
 * caller's object. `workers: 0` (a front-end only) is ours: the common table
 * starts at 1.
 */
export function splitStartOptions(options: NatsStartOptions | undefined): { common: StartOptions; nats: NatsConfig } {
  if (options === undefined) return { common: {}, nats: {} };
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object (got ${String(options)})`);
  }
  const common: Record<string, unknown> = {};
  const nats: { -readonly [K in keyof NatsConfig]: NatsConfig[K] } = {};
  for (const key of Object.keys(options)) {
    const value = (options as Record<string, unknown>)[key];
    if (key === 'nats') {
      if (value === undefined) continue;
      if (typeof value !== 'string' && !(Array.isArray(value) && value.every((url) => typeof url === 'string'))) {
        throw new TypeError(`options.nats must be a string or an array of strings (got ${typeof value})`);
      }
      nats.nats = parseNatsUrls(value as string | string[], 'options.nats');
    } else if (key === 'queue') {
      if (value !== undefined) nats.queue = checkQueue(value, 'options.queue');
    } else if (key === 'storage') {
      if (value !== undefined) nats.storage = checkStorage(value, 'options.storage');
    } else if (key === 'replicas') {
      if (value !== undefined) nats.replicas = checkReplicas(value, 'options.replicas');
    } else if (key === 'workers' && value === 0) {
      nats.localWorkers = 0;
    } else {
      common[key] = value;
    }
  }
  return { common: common as StartOptions, nats };
}
