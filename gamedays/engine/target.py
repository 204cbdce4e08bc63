"""The environment a gameday runs against, as the engine takes it.

The engine knows no environment by name: the CLI hands it a :class:`Target` (for the
sandbox, from :mod:`gamedays.sandbox.target`; for any other environment, the caller's own
variables) and, for `gameday recover`, an :data:`ExistingTarget` lookup that finds an
environment as it is now, starting nothing.
"""

from __future__ import annotations

from typing import Callable, Mapping

from gamedays.model.environment import Target, named_environment

__all__ = ["ExistingTarget", "Target", "named_environment"]

#: ``(environment, base variables) -> Target``, or None when that environment is not there now.
ExistingTarget = Callable[[str, Mapping[str, str]], "Target | None"]
