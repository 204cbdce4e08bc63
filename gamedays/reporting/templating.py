"""The Jinja environments of the report: templates shipped as package data, StrictUndefined, escaping always on.

HTML templates use Jinja's HTML autoescape (after dropping control characters).
Markdown has no autoescape of its own, so the Markdown environment escapes every
``{{ }}`` output in ``finalize``: characters Markdown would read as syntax
(``*``, ``_``, ``|``, ``<``, ``[``...) get a backslash, newlines become spaces
(a table row stays one row). Template text itself is never escaped, so the
templates write the Markdown syntax.
A new environment is built per rendering: no module-level state.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from gamedays.reporting import formatting

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~#])")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # never valid in HTML text or Markdown

FILTERS = {
    "seconds": formatting.seconds,
    "share": formatting.share,
    "objective": formatting.objective,
    "compliance": formatting.compliance,
    "timestamp": formatting.timestamp,
    "clock": formatting.clock,
    "since": formatting.since,
    "value": formatting.value,
}


def markdown_escape(value: Any) -> str:
    """Text as Markdown that reads as the text: syntax characters backslash-escaped, on one line."""
    if isinstance(value, Markup):
        return str(value)
    text = _CONTROL.sub("", "" if value is None else str(value))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", text))


def printable(value: Any) -> Any:
    """Text without control characters (an SLI error may carry a terminal escape); Markup and non-text pass."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _CONTROL.sub("", value)
    return value


def html_environment() -> Environment:
    """For report.html.j2 and the SVG charts: HTML autoescape."""
    return _environment(autoescape=True, finalize=printable)


def markdown_environment() -> Environment:
    """For report.md.j2 and actions.md.j2: every output escaped for Markdown."""
    return _environment(autoescape=False, finalize=markdown_escape)


def _environment(*, autoescape: bool, finalize: Any) -> Environment:
    env = Environment(
        loader=PackageLoader("gamedays.reporting", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    return env
