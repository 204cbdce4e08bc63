"""The sandbox as the target of a gameday: the variables its SLIs and experiments see.

A detached sandbox is used when one runs (``$GAMEDAY_SANDBOX``, else the default one) and
left running afterwards, so its state can be inspected; otherwise the run starts its own
sandbox and stops it afterwards, also when the run fails or is interrupted. The CLI wires
this in (the engine knows nothing of the sandbox: it takes a :class:`Target`).
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Iterator, Mapping

from gamedays.model.environment import Target
from gamedays.sandbox import registry
from gamedays.sandbox.environment import Sandbox


@contextlib.contextmanager
def sandbox_target(base: Mapping[str, str]) -> Iterator[Target]:
    """The running sandbox, else one of the run's own, up while the context lasts."""
    running = registry.find_running(base)
    if running is not None:
        yield Target({**base, **running.info.env}, f"the running sandbox in {running.info.directory}")
        return
    with tempfile.TemporaryDirectory(prefix="gameday-sandbox-") as folder:
        with Sandbox(Path(folder)) as info:
            yield Target({**base, **info.env}, f"a sandbox of its own (up in {info.started_seconds:.1f}s)")


def running_sandbox(base: Mapping[str, str]) -> Target | None:
    """The sandbox as it is now, starting nothing (for `gameday recover`): None when none runs."""
    running = registry.find_running(base)
    if running is None:
        return None
    return Target({**base, **running.info.env}, f"the running sandbox in {running.info.directory}")
