import type { Tick } from '@fib/perf';

/**
 * The display while the bench runs, on stderr (stdout carries the table).
 * On a terminal one status line is rewritten every second; elsewhere (CI
 * logs) only finished steps are printed, one line each.
 */
export class Progress {
  readonly #out: NodeJS.WriteStream;
  readonly #live: boolean;
  #prefix = '';
  #status = false;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#live = out.isTTY === true;
  }

  strategy(index: number, total: number, name: string): void {
    this.#prefix = `[${index + 1}/${total}] ${name.padEnd(13)}`;
  }

  tick(label: string, tick: Tick): void {
    if (!this.#live) return;
    const failed = tick.failed > 0 ? `, ${tick.failed} failed` : '';
    this.#out.write(`\r\x1b[K${this.#prefix} ${label}: ${tick.elapsed.toFixed(0)} s, ${tick.rate} answers/s${failed}`);
    this.#status = true;
  }

  line(text: string): void {
    if (this.#status) this.#out.write('\r\x1b[K');
    this.#status = false;
    this.#out.write(`${this.#prefix} ${text}\n`);
  }

  plain(text: string): void {
    if (this.#status) this.#out.write('\r\x1b[K');
    this.#status = false;
    this.#out.write(`${text}\n`);
  }
}
