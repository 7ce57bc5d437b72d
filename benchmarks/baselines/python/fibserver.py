"""What the seven Python servers of this folder share.

They are the project's starting point rewritten for the lab: the Python
teaching servers, one per concurrency strategy, that the Node packages port.
Each file keeps only its strategy; the workload, the wire habits of the
originals, the command line, the ready line and the stop on SIGTERM or SIGINT
live here, once.

Wire habits kept from the originals: one recv(100) is one request (they did
not split lines, so clients must wait for each answer: depth 1), and the
answer is the number followed by "\\n". Unlike the originals, a read that is
not a number, or asks more than --max-n, gets a one-line ERR answer instead of
killing the connection or the server, so that a typo cannot stall a bench.
"""

import argparse
import multiprocessing
import signal
import socket
import sys

# The originals read at most this many bytes per request, and so do we.
RECV_BYTES = 100
DEFAULT_HOST = "127.0.0.1"
# The originals' port, as for every Node server.
DEFAULT_PORT = 25000
# The Node servers' default: Python's fib(40) already takes about 15 s here.
MAX_N = 40
# The originals used listen(5); with eight clients at once (the lab's E),
# five would leave some connects in SYN retries, which is the kernel, not the strategy.
BACKLOG = 128

# fork, as on the Linux of the originals, whatever the Python's default (3.14
# switched to forkserver): a child starts as a copy of a single-threaded
# parent, in about a millisecond, with the sockets it needs already open.
FORK = multiprocessing.get_context("fork")


def fib(n):
    """The workload of every strategy: the naive double recursion, on purpose.

    fib(0) = 0 as in the Node servers (the originals returned 1): the same
    definition, so the lab's clients check the same answers.
    """
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def reply(data, compute):
    """The bytes to send for one read, or None for a blank one (nothing to answer)."""
    text = data.strip()
    if text == b"":
        return None
    # bytes.isdigit() accepts ASCII digits only, where int() would also take "+1", "1_0" or "٣".
    if not text.isdigit():
        return b"ERR bad_request not a non-negative decimal integer\n"
    n = int(text)
    if n > MAX_N:
        return b"ERR out_of_range n is above %d\n" % MAX_N
    try:
        return b"%d\n" % compute(n)
    except Exception as error:  # a pool that broke or shut down: say so, keep the connection
        return b"ERR internal %s\n" % type(error).__name__.encode()


def serve_connection(conn, compute):
    """The originals' loop: read, answer, until the client leaves. Closes `conn`."""
    with conn:
        while True:
            try:
                data = conn.recv(RECV_BYTES)
            except OSError:  # reset by the client
                return
            if not data:
                return
            answer = reply(data, compute)
            if answer is None:
                continue
            try:
                conn.sendall(answer)
            except OSError:  # the client left while its answer was computed
                return


def parse_args(name, workers=None):
    """--host and --port for every server; --workers for those with a pool (default `workers`)."""
    parser = argparse.ArgumentParser(prog=name, description=f"{name}: the Python original, for the benchmark lab")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST}; '::' for all)")
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, help="0 picks a free port")
    if workers is not None:
        parser.add_argument("--workers", type=positive, default=workers, help=f"pool size (default {workers})")
    return parser.parse_args()


def port_number(text):
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0 to 65535)")
    return value


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def listen(host, port):
    """A listening TCP socket; an address with a colon is IPv6."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=BACKLOG)


def announce(name, sock):
    """The ready line the Node servers print: `NAME listening on HOST:PORT` (IPv6 in brackets)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"{name} listening on {shown}:{port}", flush=True)


class Stop(BaseException):
    """Raised in the main thread by SIGTERM or SIGINT: unwinds the accept loop to the cleanup.

    A BaseException, so that no `except Exception` on the way swallows it.
    """


def stop_on_signals():
    """SIGTERM and SIGINT raise Stop in the main thread; a second signal kills at once."""

    def handler(signum, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        raise Stop(signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def child_signals():
    """In a worker: SIGTERM ends it at once (the parent's terminate()), and a Ctrl-C,
    which the terminal sends to the whole process group, is left to the parent."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run(main):
    """Runs a server's main; Stop is the normal way out (exit status 0)."""
    try:
        main()
    except Stop:
        pass
    sys.exit(0)
