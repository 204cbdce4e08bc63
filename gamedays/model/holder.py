"""Who holds a gameday: the process of a run, rehearsal or recover, as its local lock and its bucket's lease say it."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    started: float  # epoch seconds
    command: str

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(self.started))
        return f"{self.command} pid {self.pid} on {self.host}, started {when}"
