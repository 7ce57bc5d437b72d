/** Where every server listens unless told otherwise (the original project's address). */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 25000;

/** fib(78) = 8944394323791464 is the largest Fibonacci number below 2^53, so the largest a double holds exactly. */
export const MAX_N_LIMIT = 78;
/** fib(40) costs about a second of naive recursion: the most one request may ask of a server by default. */
export const DEFAULT_MAX_N = 40;
/** The longest useful request is "78\r\n"; 128 bytes leaves room for padding and stays tiny. */
export const DEFAULT_MAX_LINE = 128;
