"""py-asyncio: one asyncio event loop, fib computed inline.

Reading and writing never block the loop, but fib does: while it computes
one client's fib(30), no other client is read or answered.

Streams (asyncio.start_server) rather than the loop's sock_recv and
sock_sendall: a version written with those was tried, and beside a client
looping fib(30) the lab's perf2 got no answer at all in 2 s (0 of 0, twice),
where streams give it about one answer per fib(30), the demonstration the
originals made. Why the sock_* version starves the light client was not
pinned down; it is not the behaviour to compare Node with.
"""

import asyncio
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import fibserver  # noqa: E402

NAME = "py-asyncio"
# Seconds the connections get to wind down once their sockets are closed.
STOP_WAIT_S = 2

# Each connection's task and its writer: the stop closes the sockets and waits
# for the tasks to end by themselves (Python 3.11 logs a traceback for a
# stream handler task that is cancelled instead).
clients = {}


async def serve_connection(reader, writer):
    clients[asyncio.current_task()] = writer
    try:
        while True:
            data = await reader.read(fibserver.RECV_BYTES)
            if not data:
                return
            answer = fibserver.reply(data, fibserver.fib)  # inline: the loop waits for fib
            if answer is None:
                continue
            writer.write(answer)
            await writer.drain()
    except OSError:  # reset by the client, or it left while its answer was computed
        pass
    finally:
        del clients[asyncio.current_task()]
        writer.close()


async def serve(args):
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    # The listening socket is made here, as in the other servers, so that --host behaves the same.
    sock = fibserver.listen(args.host, args.port)
    server = await asyncio.start_server(serve_connection, sock=sock)
    fibserver.announce(NAME, sock)
    async with server:
        await stopping.wait()
    # The listener is closed; now the connections: each read ends as at a client's goodbye.
    for writer in clients.values():
        writer.close()
    if clients:
        await asyncio.wait(list(clients), timeout=STOP_WAIT_S)


def main():
    args = fibserver.parse_args(NAME)
    asyncio.run(serve(args))


if __name__ == "__main__":
    fibserver.run(main)
