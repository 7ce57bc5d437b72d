"""py-process-pool: a thread per connection, fib in a multiprocessing.Pool with blocking apply().

The same shape as py-pool with the older API: pool.apply(fib, (n,)) sends
the request to one of the pool's processes and blocks the connection's
thread until the answer comes back.
"""

import os
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import fibserver  # noqa: E402

NAME = "py-process-pool"


def main():
    # One process per core, as multiprocessing.Pool() does by default.
    args = fibserver.parse_args(NAME, workers=os.cpu_count() or 1)
    fibserver.stop_on_signals()
    # Created before any thread: Pool forks its workers here.
    pool = fibserver.FORK.Pool(args.workers, initializer=fibserver.child_signals)
    try:

        def compute(n):
            return pool.apply(fibserver.fib, (n,))

        with fibserver.listen(args.host, args.port) as sock:
            fibserver.announce(NAME, sock)
            while True:
                conn, _ = sock.accept()
                threading.Thread(target=fibserver.serve_connection, args=(conn, compute), daemon=True).start()
    finally:
        pool.terminate()  # SIGTERM to every worker
        pool.join()


if __name__ == "__main__":
    fibserver.run(main)
