"""Reach: where an experiment, a DR playbook or a fault function can act, from a small fixed vocabulary.

    sandbox      only the embedded sandbox gameday starts itself (its DNS fault convention, its parts)
    local-host   processes and files of the machine running gameday (data directories, pg_ctl, /proc,
                 the loopback TCP fault proxy)
    postgres     any PostgreSQL reachable by DSN (Aurora, RDS, Patroni, CloudNativePG)
    kubernetes   any cluster through a kubeconfig or in-cluster credentials
    aws          any account through the standard boto3 credential chain
    rfc2136      any DNS server taking dynamic updates (RFC 2136)

A catalog experiment declares its reach, and the permissions it needs on each, in a Chaos
Toolkit ``extensions`` entry named ``gameday`` (so ``chaos run`` takes the file unchanged); a DR
playbook in its own ``reach:`` and ``permissions:`` keys (both: :mod:`gamedays.model.declaration`);
a fault function with :func:`acts_on`. :func:`fits` is the one rule of which reach a plan's
environment allows. Standard library only: fault functions import it in every experiment process.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Callable, Iterable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: The attribute :func:`acts_on` sets on a fault function.
_ATTRIBUTE = "__gameday_reach__"


class Reach(str, Enum):
    SANDBOX = "sandbox"
    LOCAL_HOST = "local-host"
    POSTGRES = "postgres"
    KUBERNETES = "kubernetes"
    AWS = "aws"
    RFC2136 = "rfc2136"

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    Reach.SANDBOX: "only the embedded sandbox",
    Reach.LOCAL_HOST: "processes and files of the machine running gameday",
    Reach.POSTGRES: "any PostgreSQL reachable by DSN",
    Reach.KUBERNETES: "any cluster by kubeconfig or in-cluster credentials",
    Reach.AWS: "any account by the standard boto3 credential chain",
    Reach.RFC2136: "any DNS server taking dynamic updates",
}

#: What acts on real infrastructure from wherever gameday runs: fits every environment.
REMOTE = frozenset({Reach.POSTGRES, Reach.KUBERNETES, Reach.AWS, Reach.RFC2136})


def allowed_values() -> str:
    """``sandbox, local-host, postgres, kubernetes, aws, rfc2136``: for messages."""
    return ", ".join(r.value for r in Reach)


def fits(reach: Reach, environment_is_sandbox: bool, on_this_host: bool) -> bool:
    """Whether a step or playbook acting on ``reach`` may run in the plan's environment.

    ``sandbox`` only in the sandbox; ``local-host`` in the sandbox or when the plan says its
    environment runs on this host (``environment_on_this_host: true``); the rest anywhere.
    """
    if environment_is_sandbox:
        return True
    if reach is Reach.SANDBOX:
        return False
    if reach is Reach.LOCAL_HOST:
        return on_this_host
    return True


def not_fitting(reach: Iterable[Reach], environment_is_sandbox: bool, on_this_host: bool) -> tuple[Reach, ...]:
    """The reach of ``reach`` that does not fit the environment, in the vocabulary's order."""
    given = set(reach)
    return tuple(r for r in Reach if r in given and not fits(r, environment_is_sandbox, on_this_host))


def why_not(reach: Reach) -> str:
    """Where ``reach`` may run, for a refusal."""
    if reach is Reach.SANDBOX:
        return "sandbox acts only on the embedded sandbox: allowed only with environment: sandbox"
    return (
        "local-host acts on processes and files of the machine running gameday: allowed only with "
        "environment: sandbox, or with environment_on_this_host: true when the environment runs on this host"
    )


def acts_on(*reach: Reach) -> Callable[[F], F]:
    """Declare the reach of a fault function: ``@acts_on(Reach.POSTGRES)``; the function is unchanged."""

    def mark(func: F) -> F:
        setattr(func, _ATTRIBUTE, frozenset(reach))
        return func

    return mark


def reach_of(func: Callable[..., Any]) -> frozenset[Reach] | None:
    """The reach a fault function declares with :func:`acts_on`; None if it declares none."""
    found = getattr(func, _ATTRIBUTE, None)
    return found if isinstance(found, frozenset) else None
