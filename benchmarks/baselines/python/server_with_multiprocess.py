"""py-fork: a multiprocessing.Process per connection.

The parent only accepts. Each connection goes to a new child process, forked
with the socket already open, which serves that one client and exits when it
leaves. The children share nothing, no GIL either, so they compute in
parallel; each one costs a fork and a whole interpreter.
"""

import multiprocessing
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import fibserver  # noqa: E402

NAME = "py-fork"


def child(conn, listener):
    fibserver.child_signals()
    listener.close()  # the parent's copy is the one that accepts
    fibserver.serve_connection(conn, fibserver.fib)


def main():
    args = fibserver.parse_args(NAME)
    fibserver.stop_on_signals()
    try:
        with fibserver.listen(args.host, args.port) as sock:
            fibserver.announce(NAME, sock)
            while True:
                conn, _ = sock.accept()
                # Process.start() also reaps the children that have exited.
                fibserver.FORK.Process(target=child, args=(conn, sock), daemon=True).start()
                conn.close()  # the child has its own copy
    finally:
        # The clients still connected lose their server with it: no child outlives the parent.
        children = multiprocessing.active_children()
        for process in children:
            process.terminate()
        for process in children:
            process.join()


if __name__ == "__main__":
    fibserver.run(main)
