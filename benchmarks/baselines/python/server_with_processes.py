"""py-pool: a thread per connection, fib in a concurrent.futures.ProcessPoolExecutor(4).

The connection threads only do I/O; each request is submit(fib, n).result():
the number is pickled to a worker process and the answer pickled back. Four
processes compute in parallel on every core, out of reach of the GIL, at the
price of that round trip on every request, fib(1) included.
"""

import sys
import threading
from concurrent.futures import ProcessPoolExecutor

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import fibserver  # noqa: E402

NAME = "py-pool"
# The original's pool size, whatever the number of cores.
WORKERS = 4


def main():
    args = fibserver.parse_args(NAME, workers=WORKERS)
    fibserver.stop_on_signals()
    pool = ProcessPoolExecutor(args.workers, mp_context=fibserver.FORK, initializer=fibserver.child_signals)
    try:
        # With fork, the first submit starts every worker: do it now, while this
        # process has one thread, rather than from a connection's thread.
        pool.submit(fibserver.fib, 0).result()

        def compute(n):
            return pool.submit(fibserver.fib, n).result()

        with fibserver.listen(args.host, args.port) as sock:
            fibserver.announce(NAME, sock)
            while True:
                conn, _ = sock.accept()
                threading.Thread(target=fibserver.serve_connection, args=(conn, compute), daemon=True).start()
    finally:
        # Requests not started are cancelled; the ones computing finish; the workers exit and are joined.
        pool.shutdown(wait=True, cancel_futures=True)


if __name__ == "__main__":
    fibserver.run(main)
