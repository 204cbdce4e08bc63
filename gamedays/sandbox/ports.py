"""Free ports on 127.0.0.1: the sandbox never binds anywhere else."""

from __future__ import annotations

import socket
import time

LOOPBACK = "127.0.0.1"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port the kernel says is free on 127.0.0.1 right now (TCP by default, UDP with SOCK_DGRAM)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def free_tcp_udp_port() -> int:
    """A port free for both TCP and UDP (a DNS server listens on both)."""
    for _ in range(50):
        port = free_port(socket.SOCK_DGRAM)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            try:
                tcp.bind((LOOPBACK, port))
            except OSError:
                continue
            return port
    raise OSError("no port free for both TCP and UDP on 127.0.0.1")


def wait_for_port(port: int, timeout: float, host: str = LOOPBACK) -> bool:
    """True once something accepts TCP connections on ``host:port``, False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False
