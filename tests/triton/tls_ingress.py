"""A TLS-terminating ingress for the tests: TLS outside, the server's plaintext HTTP port inside.

What a cluster puts in front of `golf-rt serve --allow-plaintext`: the client speaks HTTPS to
it, it forwards the bytes to Triton's HTTP port on loopback. One thread, one event loop.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from pathlib import Path


class TlsIngress:
    """Listen with TLS on a free loopback port and forward every connection to `127.0.0.1:target_port`."""

    def __init__(self, target_port: int, cert: Path, key: Path) -> None:
        self.target_port = target_port
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(cert, key)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))

    def __enter__(self) -> TlsIngress:
        self._thread.start()
        start = asyncio.start_server(self._forward, "127.0.0.1", 0, ssl=self._context)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
