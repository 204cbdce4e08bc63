"""What an SLI source (or a DR writer) may name, by kind: a URL, a PostgreSQL DSN, a DNS server.

A value may hold ``${NAME}`` placeholders that the environment fills at run time:
before that, only the parts written literally are checked (a value that is entirely
``${NAME}`` passes); once expanded (:mod:`gamedays.engine.sources`) the whole value is.
Each check returns None when the value is allowed, or the message saying what is. The
message never quotes the value: a URL or a DSN may hold a password (the file and the
line name it).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from gamedays.model.address import host_port

_VAR = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
DNS_DEFAULT_PORT = 53

URL_HELP = "an http:// or https:// URL with a host, e.g. http://127.0.0.1:9090 (${NAME} may stand for any part)"
DSN_HELP = (
    "a postgresql:// (or postgres://) URL with a host, e.g. postgresql://shop@127.0.0.1:5432/shop, "
    "or libpq key=value pairs, e.g. host=127.0.0.1 dbname=shop, or ${DATABASE_URL}"
)
SERVER_HELP = (
    "the DNS server's address and port (an IPv4 or IPv6 address, port 1-65535, 53 when left out), "
    "e.g. 127.0.0.1:5353 or [::1]:5353 (${NAME} allowed)"
)


def _stand_in(text: str, leading: str, inner: str = "1") -> str:
    """``text`` with a placeholder at its start read as ``leading``, and any other as ``inner``."""
    stripped = text.strip()
    match = _VAR.match(stripped)
    if match:
        stripped = leading + stripped[match.end():]
    return _VAR.sub(inner, stripped)


def _url_with(text: str, schemes: tuple[str, ...], leading: str) -> bool:
    try:
        parts = urlsplit(_stand_in(text, leading))
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        return False
    return parts.scheme.lower() in schemes and bool(parts.hostname) and not any(c.isspace() for c in text.strip())


def url_problem(text: str) -> str | None:
    return None if _url_with(text, ("http", "https"), "http://h") else f"this value is not allowed: use {URL_HELP}"


# libpq's conninfo: keyword=value pairs, a value bare or single-quoted (\\ and \' escaped inside quotes)
_CONNINFO = re.compile(r"\s*(?:[a-z_]+\s*=\s*(?:'(?:[^'\\]|\\.)*'|[^\s']+)\s*)+")


def dsn_problem(text: str) -> str | None:
    if _url_with(text, ("postgresql", "postgres"), "postgresql://h") or _CONNINFO.fullmatch(_VAR.sub("1", text)):
        return None
    return f"this value is not allowed: use {DSN_HELP}"


def server_problem(text: str) -> str | None:
    refused = f"this value is not allowed: use {SERVER_HELP}"
    if _VAR.fullmatch(text.strip()):
        return None
    try:
        one, _ = host_port(_stand_in(text, "1", "1"), DNS_DEFAULT_PORT)
        two, _ = host_port(_stand_in(text, "2", "2"), DNS_DEFAULT_PORT)
    except ValueError:
        return refused
    if one != two:  # the host comes (partly) from the environment: checked once expanded
        return None
    try:
        ipaddress.ip_address(one)
    except ValueError:
        return refused
    return None
