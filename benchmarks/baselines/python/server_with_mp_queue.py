"""py-queue: a thread per connection, worker processes fed through multiprocessing.Queue.

Producer and consumers: a connection's thread puts (ticket, n) on one jobs
queue, which every worker process reads; a worker puts (ticket, fib(n)) on
one results queue; a dispatcher thread hands each result to the thread
waiting for that ticket.
"""

import itertools
import os
import sys
import threading
from concurrent.futures import Future

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import fibserver  # noqa: E402

NAME = "py-queue"
# Seconds the workers get to finish their current job and read their stop marker, before terminate().
STOP_WAIT_S = 2


def worker(jobs, results):
    fibserver.child_signals()
    for ticket, n in iter(jobs.get, None):  # None: stop
        results.put((ticket, fibserver.fib(n)))


def main():
    args = fibserver.parse_args(NAME, workers=os.cpu_count() or 1)
    fibserver.stop_on_signals()
    jobs = fibserver.FORK.Queue()
    results = fibserver.FORK.Queue()
    # Started before any thread, so each worker is forked from a one-thread process.
    workers = [fibserver.FORK.Process(target=worker, args=(jobs, results), daemon=True) for _ in range(args.workers)]
    for process in workers:
        process.start()
    waiting = {}  # ticket -> Future of the connection thread that asked
    tickets = itertools.count()

    def dispatch():
        while True:
            ticket, value = results.get()
            waiting.pop(ticket).set_result(value)

    threading.Thread(target=dispatch, daemon=True).start()

    def compute(n):
        ticket = next(tickets)
        answer = Future()
        waiting[ticket] = answer
        jobs.put((ticket, n))
        return answer.result()

    try:
        with fibserver.listen(args.host, args.port) as sock:
            fibserver.announce(NAME, sock)
            while True:
                conn, _ = sock.accept()
                threading.Thread(target=fibserver.serve_connection, args=(conn, compute), daemon=True).start()
    finally:
        for _ in workers:
            jobs.put(None)
        for process in workers:
            process.join(STOP_WAIT_S)
        for process in workers:
            if process.is_alive():
                process.terminate()
                process.join()
        # Whatever is left in the jobs pipe has no reader any more: do not wait to flush it at exit.
        jobs.cancel_join_thread()


if __name__ == "__main__":
    fibserver.run(main)
