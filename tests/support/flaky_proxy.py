"""A small TCP proxy on loopback that cuts connections at random, like a phone losing signal mid-request.

Every time a client starts a request on a connection, the proxy rolls the dice: with probability `cut_ratio`
it forwards a random part of what it received and then closes both sides, so the request (or its answer)
is lost half-way. It runs its own event loop in a thread, so synchronous tests and child processes can use
it alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
from dataclasses import dataclass, field

_METHODS = (b"GET ", b"POST ", b"PUT ", b"DELETE ", b"HEAD ", b"COPY ")


@dataclass
class FlakyProxy:
    target_port: int
    cut_ratio: float = 0.2
    seed: int = 7
    port: int = 0
    requests: int = 0
    cuts: int = 0
    #: With `record=True`, the request line of every request ("POST /db/_bulk_docs HTTP/1.1"), in order:
    #: `scripts/bench/sync --trace` counts the database requests of a push with a proxy that never cuts.
    record: bool = False
    request_lines: list[str] = field(default_factory=list)
    #: While severed (`sever()` until `mend()`), the link is down: open connections are cut and new ones
    #: closed at once, while what is behind the proxy keeps running.
    severed: bool = False
    _open: set[asyncio.StreamWriter] = field(default_factory=set, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _server: asyncio.Server | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def __enter__(self) -> FlakyProxy:
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, family=socket.AF_INET)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        started.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._thread is not None

        async def close() -> None:
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()  # an unclosed loop warns later, in whichever test the GC happens to run

    def sever(self) -> None:
        """Cut every open connection (a reset, as a link going down) and refuse new ones until `mend()`."""
        assert self._loop is not None
        self.severed = True

        async def cut_all() -> None:
            for writer in list(self._open):
                writer.transport.abort()

        asyncio.run_coroutine_threadsafe(cut_all(), self._loop).result(5)

    def mend(self) -> None:
        self.severed = False

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.severed:
            client_writer.transport.abort()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        self._open.update((client_writer, server_writer))
        cut = asyncio.Event()
        # Half the cuts lose the request on its way in, half lose the answer after the server acted on it.
        answer_cut: list[int] = []

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while not cut.is_set():
                    data = await reader.read(65536)
                    if not data:
                        break
                    if upstream and data.startswith(_METHODS):
                        self.requests += 1
                        if self.record:
                            self.request_lines.append(data[: data.find(b"\r\n")].decode("latin-1"))
                        if self._random.random() < self.cut_ratio:
                            self.cuts += 1
                            if self._random.random() < 0.5:
                                writer.write(data[: self._random.randrange(len(data))])
                                await writer.drain()
                                cut.set()
                                break
                            answer_cut.append(self._random.randrange(1, 400))
                    if not upstream and answer_cut:
                        writer.write(data[: answer_cut[0]])
                        await writer.drain()
                        cut.set()
                        break
                    writer.write(data)
                    await writer.drain()
            for stream in (client_writer, server_writer):
                with contextlib.suppress(Exception):
                    stream.close()

        try:
            await asyncio.gather(
                pipe(client_reader, server_writer, True), pipe(server_reader, client_writer, False)
            )
        finally:
            self._open.difference_update((client_writer, server_writer))
