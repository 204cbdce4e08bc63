"""What of an SLI target may be written to a journal, a report or a log: never credentials.

Both functions below take text as the user wrote it, so they must never raise: a URL
with a port that is not a number, or a broken IPv6 literal, still gets a safe form.
:func:`scrub` is the second line of defence: libraries sometimes quote a piece of a
bad URL or connection string back in their error (libpq's "invalid percent-encoded
token" quotes the password), so every error an SLI source returns is scrubbed of the
secrets its target carries.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Iterable

# RFC 3986, appendix B: splits any string, never fails
_URI = re.compile(r"^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$", re.DOTALL)
_KEYWORD_PASSWORD = re.compile(r"""\bpassword\s*=\s*('(?:[^'\\]|\\.)*'?|\S+)""")
MASK = "***"


def safe_url(url: str) -> str:
    """``scheme://host:port/path``: no user, password, query string or fragment."""
    scheme, authority, path = _split(url)
    if authority:
        return f"{scheme}://{authority}{path}" if scheme else f"//{authority}{path}"
    return f"{scheme}:{path}" if scheme else path


def safe_dsn(dsn: str) -> str:
    """A PostgreSQL connection string reduced to host, port and database."""
    if "://" in dsn:
        _, authority, path = _split(dsn)
        return f"postgresql://{authority}{path}"
    fields = dict(item.split("=", 1) for item in dsn.split() if "=" in item)
    host, port, db = fields.get("host", ""), fields.get("port", ""), fields.get("dbname", "")
    return f"postgresql://{host}{':' + port if port else ''}/{db}"


def url_secrets(url: str) -> tuple[str, ...]:
    """The secrets a URL carries: the password of its user info and the values of its query string."""
    match = _URI.match(url)
    if match is None:  # pragma: no cover - the pattern matches every string
        return ()
    authority, query = match.group(2) or "", match.group(4) or ""
    found: list[str] = []
    userinfo, at, _ = authority.rpartition("@")
    if at and ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    for pair in query.split("&"):
        _, equals, value = pair.partition("=")
        if equals and value:
            found.append(value)
    return _with_decoded(found)


def dsn_secrets(dsn: str) -> tuple[str, ...]:
    """The secrets of a PostgreSQL connection string, URL form or ``key=value`` form."""
    if "://" in dsn:
        return url_secrets(dsn)
    found = []
    for match in _KEYWORD_PASSWORD.finditer(dsn):
        value = match.group(1)
        if value.startswith("'"):
            value = value[1:-1] if len(value) > 1 and value.endswith("'") else value[1:]
            found.append(value.replace("\\'", "'").replace("\\\\", "\\"))
        found.append(value)
    return _with_decoded(found)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***`` (longest secrets first)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _split(url: str) -> tuple[str, str, str]:
    """(scheme, host[:port] without user info, path) of any string."""
    match = _URI.match(url)
    if match is None:  # pragma: no cover - the pattern matches every string
        return "", "", ""
    scheme, authority, path = match.group(1) or "", match.group(2) or "", match.group(3) or ""
    if not authority:  # "user:secret@host" without "//" parses as scheme "user": keep nothing before "@"
        path = path.rpartition("@")[2]
    return scheme, authority.rpartition("@")[2], path


def _with_decoded(values: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        for form in (value, urllib.parse.unquote(value), urllib.parse.unquote_plus(value)):
            if form and form not in out:
                out.append(form)
    return tuple(out)
