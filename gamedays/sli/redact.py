"""What of an SLI target may be written to a journal, a report or a log: never credentials."""

from __future__ import annotations

import urllib.parse


def safe_url(url: str) -> str:
    """``scheme://host:port/path``: no user, password, query string or fragment."""
    parts = urllib.parse.urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def safe_dsn(dsn: str) -> str:
    """A PostgreSQL connection string reduced to host, port and database."""
    if "://" in dsn:
        parts = urllib.parse.urlsplit(dsn)
        port = f":{parts.port}" if parts.port else ""
        return f"postgresql://{parts.hostname or ''}{port}{parts.path}"
    fields = dict(item.split("=", 1) for item in dsn.split() if "=" in item)
    host, port, db = fields.get("host", ""), fields.get("port", ""), fields.get("dbname", "")
    return f"postgresql://{host}{':' + port if port else ''}/{db}"
