"""``${NAME}`` in SLI settings reads the environment at sampling time (the sandbox's ports)."""

from __future__ import annotations

import re
from typing import Mapping

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingVariable(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"environment variable {name} is not set (the SLI refers to ${{{name}}})")
        self.name = name


def expand(text: str, env: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise MissingVariable(name)
        return env[name]

    return _VAR.sub(value, text)


def variables(text: str) -> list[str]:
    """The names ``text`` refers to, in order."""
    return _VAR.findall(text)
