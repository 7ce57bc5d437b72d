/**
 * Something a server wants its operator to know: a worker died, an accept
 * failed. Library code never writes to the console; it reports these, and
 * the application decides what to print (the CLI writes `msg` to stderr).
 * The shape is a pino record's (`level`, `msg`, more fields), so a structured
 * logger can take an event as it is.
 */
export interface ServerEvent {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  /** A stable name for the kind of event, e.g. `worker-died`. */
  readonly event: string;
  /** One human line, without the program's name. */
  readonly msg: string;
  readonly [field: string]: unknown;
}

export type Reporter = (event: ServerEvent) => void;

/** What a library server reports when its user passed nothing. */
export const silent: Reporter = () => {};

/** The message of `error`, whatever was thrown. */
export function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
