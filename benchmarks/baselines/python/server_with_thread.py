"""py-thread: a thread per connection.

Every connection gets its own thread, which reads, computes and answers. The
threads run in parallel only while they wait for the network: computing
needs the GIL, which one thread holds at a time. A thread busy with fib(30)
gives it up only when the interpreter asks it to (every 5 ms by default), so
a thread that wants to answer fib(1) waits for that turn on every request.
"""

import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import fibserver  # noqa: E402

NAME = "py-thread"


def main():
    args = fibserver.parse_args(NAME)
    fibserver.stop_on_signals()
    with fibserver.listen(args.host, args.port) as sock:
        fibserver.announce(NAME, sock)
        while True:
            conn, _ = sock.accept()
            # Daemon: a client that stays connected does not keep the process alive after a stop.
            threading.Thread(target=fibserver.serve_connection, args=(conn, fibserver.fib), daemon=True).start()


if __name__ == "__main__":
    fibserver.run(main)
