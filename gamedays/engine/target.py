"""The environment a gameday runs against: the variables its SLIs and experiments see.

For ``environment: sandbox`` a detached sandbox is used when one runs
(``$GAMEDAY_SANDBOX``, else the default one) and left running afterwards, so
its state can be inspected; otherwise the run starts its own sandbox and
stops it afterwards, also when the run fails or is interrupted.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from gamedays.model.errors import UsageError
from gamedays.model.plan import PRODUCTION, SANDBOX, Plan
from gamedays.sandbox import registry
from gamedays.sandbox.environment import Sandbox


@dataclass(frozen=True)
class Target:
    env: dict[str, str]
    description: str


def check_confirmation(plan: Plan, confirm: str | None) -> None:
    if plan.environment == PRODUCTION and confirm != PRODUCTION:
        raise UsageError(
            f"the plan targets environment '{PRODUCTION}': refusing to inject faults there without "
            f"--confirm {PRODUCTION}"
        )
    if confirm is not None and confirm != plan.environment:
        raise UsageError(f"--confirm {confirm} does not match the plan's environment '{plan.environment}'")


@contextlib.contextmanager
def target_environment(plan: Plan, base: Mapping[str, str]) -> Iterator[Target]:
    if not plan.is_sandbox:
        yield Target(dict(base), f"environment '{plan.environment}'")
        return
    running = registry.find_running(base)
    if running is not None:
        yield Target({**base, **running.info.env}, f"the running sandbox in {running.info.directory}")
        return
    with tempfile.TemporaryDirectory(prefix="gameday-sandbox-") as folder:
        with Sandbox(Path(folder)) as info:
            yield Target({**base, **info.env}, f"a sandbox of its own (up in {info.started_seconds:.1f}s)")


def existing_environment(environment: str, base: Mapping[str, str]) -> Target | None:
    """The environment named ``environment`` as it is now, starting nothing (for `gameday recover`)."""
    if environment != SANDBOX:
        return Target(dict(base), f"environment '{environment}'")
    running = registry.find_running(base)
    if running is None:
        return None
    return Target({**base, **running.info.env}, f"the running sandbox in {running.info.directory}")
