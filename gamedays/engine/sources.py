"""The SLI sources of a run checked once ``${NAME}`` is expanded, before anything is injected.

`gameday validate` checks what a catalog writes literally (gamedays.model.sources); at
run time the environment fills the placeholders, and a value that turns out not to be
what its kind measures (an http URL, a postgresql:// DSN, a DNS server's address) is an
InvalidInput at the catalog's line (exit 2). The expanded value is never shown: it may
hold a password. A variable that is not set is left to the preflight, which names it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

from gamedays.loading.source import read_yaml
from gamedays.model.errors import InvalidInput
from gamedays.model.slo import SLO, DnsSLI, HttpSLI, PostgresSLI, PrometheusSLI
from gamedays.model.sources import dsn_problem, server_problem, url_problem
from gamedays.sli.expand import MissingVariable, expand, variables


def check_expanded_sources(catalog_path: Path, catalog: Sequence[SLO], used: Sequence[SLO], env: Mapping[str, str]) -> None:
    """InvalidInput naming catalog:line for each SLO in ``used`` whose expanded source is not allowed."""
    found: list[tuple[int, str, str]] = []  # (index in the catalog, key, message)
    for slo in used:
        for key, text, problem in _targets(slo):
            names = variables(text)
            if not names:
                continue  # written literally: validate checked it
            try:
                expanded = expand(text, env)
            except MissingVariable:
                continue
            message = problem(expanded)
            if message is not None:
                allowed = message.split(" is not allowed: ", 1)[1]
                spelled = ", ".join(f"${{{name}}}" for name in names)
                found.append((catalog.index(slo), key, f"once {spelled} is expanded, the value is not allowed: {allowed}"))
    if not found:
        return
    doc = read_yaml(catalog_path)
    raise InvalidInput(
        [doc.problem(("slos", index, "sli", key), f"slos[{index}].sli.{key}: {message}") for index, key, message in found]
    )


def _targets(slo: SLO) -> list[tuple[str, str, Callable[[str], str | None]]]:
    sli = slo.sli
    if isinstance(sli, (HttpSLI, PrometheusSLI)):
        return [("url", sli.url, url_problem)]
    if isinstance(sli, PostgresSLI):
        return [("dsn", sli.dsn, dsn_problem)]
    if isinstance(sli, DnsSLI):
        return [("server", sli.server, server_problem)]
    return []
