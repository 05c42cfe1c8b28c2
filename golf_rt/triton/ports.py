"""Free ports for a server: the ones tests and benchmarks pick, and the check before a start."""

from __future__ import annotations

import socket


def free_ports(count: int = 3, host: str = "127.0.0.1") -> tuple[int, ...]:
    """`count` distinct ports free on `host` right now (for tests and benchmarks)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return tuple(s.getsockname()[1] for s in sockets)
    finally:
        for s in sockets:
            s.close()


def port_in_use(host: str, port: int) -> bool:
    """Whether a server could not bind `port` on `host` now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False
