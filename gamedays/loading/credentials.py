"""Secrets by reference only: find credentials written in clear in a loaded document, at file:line.

Plans, SLO catalogs, DR playbooks and Chaos Toolkit experiments name where a secret
lives (``env:NAME``, ``${name}``, ``{type: env, key: NAME}``, ``{type: vault, ...}``),
never its value. The rules (which keys hold credentials, which text shapes are
tokens, what counts as a reference) live in :mod:`gamedays.model.redact`, shared with
the redaction of what is journaled; this module only walks a document and locates
what they find. A message never shows the value it found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gamedays.loading.source import Document, Loc, read_yaml
from gamedays.loading.validation import where
from gamedays.model.errors import InvalidInput, Problem
from gamedays.model.redact import REFERENCE_HELP, credential_in, is_reference

SECRETS_HELP = (
    "a Chaos Toolkit secret must be {type: env, key: NAME} or {type: vault, path: ..., key: ...}, "
    "never a literal value"
)


def find_credentials(doc: Document, experiment: bool = False) -> list[Problem]:
    """Every credential written in clear in ``doc``; with ``experiment``, its ``secrets:`` block is checked too."""
    problems: list[Problem] = []
    data = doc.data
    if experiment and isinstance(data, dict) and isinstance(data.get("secrets"), dict):
        _check_secrets_block(doc, data["secrets"], problems)
        data = {key: value for key, value in data.items() if key != "secrets"}
    _walk(doc, data, (), None, problems)
    return sorted(set(problems))


def reject_credentials(doc: Document, experiment: bool = False) -> None:
    """Raise :class:`InvalidInput` naming every credential written in clear in ``doc``."""
    problems = find_credentials(doc, experiment)
    if problems:
        raise InvalidInput(problems)


def reject_credentials_in_experiment(path: Path, experiment: dict[str, Any]) -> None:
    """Like :func:`reject_credentials` for a Chaos Toolkit experiment chaoslib has already loaded.

    The file is read again for its line numbers; should that fail where chaoslib succeeded,
    the experiment is still checked and its problems name the file as a whole.
    """
    loaded = Document(path=path, data=experiment, lines={})
    if not find_credentials(loaded, experiment=True):
        return  # the common case: no second (slow, line-keeping) read of the file
    try:
        doc = read_yaml(path)
    except InvalidInput:
        doc = loaded
    reject_credentials(doc, experiment=True)


def _walk(doc: Document, value: Any, loc: Loc, key: object, problems: list[Problem]) -> None:
    if isinstance(value, dict):
        if is_reference(value):
            return
        for child_key, child in value.items():
            _walk(doc, child, (*loc, child_key), child_key, problems)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _walk(doc, item, (*loc, index), None, problems)
        return
    what = credential_in(key, value)
    if what is not None:
        problems.append(_problem(doc, loc, f"{what} in {where(loc) or 'the document'}: {REFERENCE_HELP}"))


def _check_secrets_block(doc: Document, block: dict[Any, Any], problems: list[Problem]) -> None:
    for scope, names in block.items():
        if not isinstance(names, dict):
            message = f"secrets.{scope}: expected a mapping of secret names to env or vault references"
            problems.append(_problem(doc, ("secrets", scope), message))
            continue
        for name, secret in names.items():
            if not is_reference(secret):
                problems.append(_problem(doc, ("secrets", scope, name), f"secrets.{scope}.{name}: {SECRETS_HELP}"))


def _problem(doc: Document, loc: Loc, message: str) -> Problem:
    # a file chaoslib read but ruamel could not (no line numbers): name the file as a whole
    return doc.problem(loc, message) if doc.lines else Problem(doc.name, 0, message)
