"""What of an SLI target or a document may be written to a journal, a report or a log: never credentials.

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
from dataclasses import dataclass
from typing import Any, Iterable

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


# -- credentials written in clear in a document (plan, experiment, playbook, SLO catalog) -------------
#
# One rule table serves two purposes: the loader rejects a document carrying a credential
# (gamedays.loading.credentials, with file:line), and :func:`redact_document` masks the same
# values in whatever is journaled, in case a future loader misses one.


@dataclass(frozen=True)
class Shape:
    """A well-known credential shape, recognisable in any text whatever key holds it."""

    what: str
    pattern: re.Pattern[str]


TOKEN_SHAPES: tuple[Shape, ...] = (
    Shape(
        "a PEM private key",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----)?", re.S),
    ),
    Shape("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")),
    Shape("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})")),
    Shape("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    Shape(
        "a Slack webhook URL",
        re.compile(r"https?://hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+"),
    ),
    Shape("a Mattermost webhook URL", re.compile(r"https?://[^\s\"'<>]+?/hooks/[A-Za-z0-9]{16,}")),
    Shape("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*")),
)

# scheme://user:PASSWORD@host
_URL_PASSWORD = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:\"']*:)([^\s/?#@\"']+)(@)")
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_ENV_REFERENCE = re.compile(r"^env:[A-Za-z_][A-Za-z0-9_]*$")
# what may be left of a value once its ${...} placeholders are gone: "Bearer ${token}", "${user}:${password}"
_AROUND_PLACEHOLDERS = re.compile(r"(?i)\b(?:bearer|basic|token|digest)\b|[\s:;,.'\"=-]")
_CREDENTIAL_WORDS = (
    "password", "passwd", "passphrase", "secret", "token", "apikey", "accesskey", "privatekey",
    "credential", "authorization", "tsigkey",
)
# keys that name where a credential is, or something about it, rather than hold it
_ABOUT_A_CREDENTIAL = (
    "name", "names", "file", "path", "dir", "env", "var", "ref", "url", "uri", "endpoint", "type",
    "kind", "ttl", "length", "count", "id", "scope",
)
REFERENCE_HELP = "refer to it instead (env:NAME in a plan, {type: env, key: NAME} in an experiment)"


def is_credential_key(key: object) -> bool:
    """A key named like a credential: password, secret, token, api_key, access_key, private_key, ..."""
    if not isinstance(key, str):
        return False
    compact = re.sub(r"[^a-z0-9]", "", key.lower())
    return any(word in compact for word in _CREDENTIAL_WORDS) and not compact.endswith(_ABOUT_A_CREDENTIAL)


def is_reference(value: object) -> bool:
    """``env:NAME``, a value made only of ``${name}`` placeholders, or Chaos Toolkit's env/vault forms."""
    if isinstance(value, dict):
        return value.get("type") in ("env", "vault")
    if not isinstance(value, str):
        return False
    text = value.strip()
    if _ENV_REFERENCE.match(text):
        return True
    rest = _PLACEHOLDER.sub("", text)
    return rest != text and not _AROUND_PLACEHOLDERS.sub("", rest)


def is_literal_value(value: object) -> bool:
    """A scalar a credential could be written as: non-empty text or a number (not true/false/null)."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, (int, float))


def credential_in(key: object, value: object) -> str | None:
    """What credential ``value`` (held by ``key``) writes in clear, e.g. "a literal credential"; None if none."""
    if is_credential_key(key) and is_literal_value(value) and not is_reference(value):
        return "a literal credential"
    if not isinstance(value, str):
        return None
    for match in _URL_PASSWORD.finditer(value):
        if not is_reference(match.group(2)):
            return "a password in a URL"
    for match in _KEYWORD_PASSWORD.finditer(value):
        if not is_reference(match.group(1).strip("'")):
            return "a password in a connection string"
    for shape in TOKEN_SHAPES:
        if shape.pattern.search(value):
            return shape.what
    return None


def mask_credentials(text: str) -> str:
    """``text`` with URL passwords, ``password=`` values and well-known token shapes replaced by ``***``."""

    def url(match: re.Match[str]) -> str:
        return match.group(0) if is_reference(match.group(2)) else f"{match.group(1)}{MASK}{match.group(3)}"

    def keyword(match: re.Match[str]) -> str:
        return match.group(0) if is_reference(match.group(1).strip("'")) else "password=" + MASK

    text = _URL_PASSWORD.sub(url, text)
    text = _KEYWORD_PASSWORD.sub(keyword, text)
    for shape in TOKEN_SHAPES:
        text = shape.pattern.sub(MASK, text)
    return text


def redact_document(doc: Any) -> Any:
    """A copy of ``doc`` (a Chaos Toolkit experiment, a step's values...) with every credential-like value masked.

    References stay as they are, so a journaled experiment still runs (``gameday recover``) with the
    secrets read from the environment at that time. A Chaos Toolkit ``secrets`` block keeps only
    env/vault forms: a literal secret in it is masked whatever its name.
    """
    return _redact(doc, None)


def _redact(value: Any, key: object) -> Any:
    if isinstance(value, dict):
        out = {}
        for child_key, child in value.items():
            if child_key == "secrets" and isinstance(child, dict):
                out[child_key] = {scope: _redact_scope(names) for scope, names in child.items()}
            else:
                out[child_key] = _redact(child, child_key)
        return out
    if isinstance(value, (list, tuple)):
        return [_redact(item, None) for item in value]
    if is_credential_key(key) and is_literal_value(value) and not is_reference(value):
        return MASK
    if isinstance(value, str):
        return mask_credentials(value)
    return value


def _redact_scope(names: Any) -> Any:
    if not isinstance(names, dict):
        return _redact(names, None)
    return {
name: _redact(secret, name) if is_reference(secret) else MASK for name, secret in names.items()
    }
