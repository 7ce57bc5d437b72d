import { fib } from '../fib.js';
import type { Session } from '../strategy.js';

/**
 * `session`, except that requests with n <= maxN are computed here, on the
 * event loop: below the crossover (measured per strategy, in its README) fib(n) costs less than
 * the hop to a worker and back. The connection still answers in order.
 */
export function inlineUpTo(session: Session, maxN: number): Session {
  return {
    compute: (n) => (n <= maxN ? fib(n) : session.compute(n)),
    close: () => session.close(),
    // Only a session that has one: the connection calls it after every read.
    ...(session.flush === undefined ? {} : { flush: () => session.flush!() }),
  };
}
