/**
 * The workload of every strategy: the naive double recursion, on purpose.
 * No strategy memoizes or uses a faster algorithm, so that benchmarks compare
 * concurrency, not arithmetic. fib(0) = 0, fib(1) = fib(2) = 1.
 */
export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}
