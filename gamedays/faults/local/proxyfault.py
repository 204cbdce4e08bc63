"""What a TCP fault proxy does to the traffic it forwards: one frozen value, shared by the proxy and its controls."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["NO_FAULT", "ProxyFault"]


@dataclass(frozen=True)
class ProxyFault:
    """The network fault of a :class:`~gamedays.faults.local.tcpproxy.TcpProxy`; ``ProxyFault()`` forwards untouched.

    - ``latency``: seconds added to every round trip, half on the way to the target and
      half on the way back, plus up to ``jitter`` seconds more at random per chunk;
    - ``bandwidth``: bytes per second per direction (``None``: unlimited);
    - ``blackhole``: nothing is forwarded, in either direction, not even a new connection;
    - ``reset``: open and new connections are reset (RST).
    """

    latency: float = 0.0
    jitter: float = 0.0
    bandwidth: int | None = None
    blackhole: bool = False
    reset: bool = False

    def __post_init__(self) -> None:
        for name in ("latency", "jitter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        bandwidth = self.bandwidth
        if bandwidth is not None and (isinstance(bandwidth, bool) or not isinstance(bandwidth, int) or bandwidth <= 0):
            raise ValueError(f"bandwidth must be a whole number of bytes per second > 0, got {bandwidth!r}")
        for name in ("blackhole", "reset"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")

    def one_way_delay(self, rng: random.Random) -> float:
        """The delay of one chunk in one direction: half the latency, plus half a random share of the jitter."""
        jitter = rng.uniform(0.0, self.jitter) if self.jitter else 0.0
        return (self.latency + jitter) / 2.0


NO_FAULT = ProxyFault()
