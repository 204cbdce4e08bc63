"""Which environment a plan targets, and the confirmation a run against it needs.

Only ``sandbox`` (the embedded environment gameday starts itself) runs without a word from
the commander; every other environment needs ``--confirm ENVIRONMENT``, naming the plan's
environment again (compared case-insensitively: ``--confirm staging`` for ``Staging``). A plan
marked production by any usual spelling (``production``, ``Production``, ``PRODUCTION``,
``prod``, ``prd``, ``live``...) is said to target production in the refusal, so nobody takes it
for a test environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from gamedays.model.errors import UsageError
from gamedays.model.plan import SANDBOX

#: How teams spell production, compared case-insensitively.
PRODUCTION_NAMES = frozenset({"production", "prod", "prd", "live"})


def is_production(environment: str) -> bool:
    """True for every usual spelling of production (``Production``, ``PROD``, ``prd``...)."""
    return environment.casefold() in PRODUCTION_NAMES


def needs_confirmation(environment: str) -> bool:
    """Every environment but the embedded sandbox needs ``--confirm ENVIRONMENT``."""
    return environment != SANDBOX


def check_confirmation(environment: str, confirm: str | None) -> None:
    """Raise :class:`UsageError` (exit 2) unless ``confirm`` names ``environment`` (case-insensitively).

    ``confirm`` is what the commander gave with ``--confirm`` (None: nothing given).
    """
    what = f"production (environment '{environment}')" if is_production(environment) else f"environment '{environment}'"
    if not needs_confirmation(environment):
        if confirm is not None and confirm.casefold() != environment.casefold():
            raise UsageError(f"--confirm {confirm} does not match the plan's environment '{environment}'")
        return
    if confirm is None:
        raise UsageError(
            f"the plan targets {what}: refusing to inject faults there without --confirm {environment}"
        )
    if confirm.casefold() != environment.casefold():
        raise UsageError(
            f"--confirm {confirm} does not match: the plan targets {what}; "
            f"give --confirm {environment} to run there"
        )


@dataclass(frozen=True)
class Target:
    """What a gameday runs against: the environment variables its SLIs and experiments see, and a description."""

    env: dict[str, str]
    description: str


def named_environment(environment: str, base: Mapping[str, str]) -> Target:
    """An environment other than the sandbox: the caller's own variables (kubeconfig, AWS profile, DSNs)."""
    return Target(dict(base), f"environment '{environment}'")
