"""py-sequential: one client at a time, the way the originals began.

The main thread accepts a connection and serves it until the client leaves;
only then does it accept the next one. Meanwhile the kernel completes the
other clients' connects and keeps them in the listen backlog, unread.
"""

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import fibserver  # noqa: E402

NAME = "py-sequential"


def main():
    args = fibserver.parse_args(NAME)
    fibserver.stop_on_signals()
    with fibserver.listen(args.host, args.port) as sock:
        fibserver.announce(NAME, sock)
        while True:
            conn, _ = sock.accept()
            fibserver.serve_connection(conn, fibserver.fib)


if __name__ == "__main__":
    fibserver.run(main)
