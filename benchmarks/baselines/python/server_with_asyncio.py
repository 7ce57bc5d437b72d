"""py-asyncio: one asyncio event loop, fib computed inline.

Reading and writing never block the loop, but fib does: while it computes
one client's fib(30), no other client is read or answered.
"""

import asyncio
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import fibserver  # noqa: E402

NAME = "py-asyncio"


async def serve_connection(conn):
    loop = asyncio.get_running_loop()
    with conn:
        while True:
            try:
                data = await loop.sock_recv(conn, fibserver.RECV_BYTES)
            except OSError:  # reset by the client
                return
            if not data:
                return
            answer = fibserver.reply(data, fibserver.fib)  # inline: the loop waits for fib
            if answer is None:
                continue
            try:
                await loop.sock_sendall(conn, answer)
            except OSError:  # the client left while its answer was computed
                return


async def serve(args):
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    clients = set()  # the loop keeps only weak references to tasks
    with fibserver.listen(args.host, args.port) as sock:
        sock.setblocking(False)
        fibserver.announce(NAME, sock)

        async def accept_forever():
            while True:
                conn, _ = await loop.sock_accept(sock)
                conn.setblocking(False)
                task = asyncio.create_task(serve_connection(conn))
                clients.add(task)
                task.add_done_callback(clients.discard)

        acceptor = asyncio.create_task(accept_forever())
        await stopping.wait()
        acceptor.cancel()
        for task in list(clients):
            task.cancel()
        await asyncio.gather(acceptor, *clients, return_exceptions=True)


def main():
    args = fibserver.parse_args(NAME)
    asyncio.run(serve(args))


if __name__ == "__main__":
    fibserver.run(main)
