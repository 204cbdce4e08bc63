"""TSIG keys (RFC 8945) for RFC 2136 updates and zone transfers, named by reference, never written down.

A DNS fault, the DNS zone backup and the DNS RPO writer sign what they send when a key is
set. The key is read from the environment at the moment it is used, by reference:
``tsig_key: env:NAME`` (the default reference is ``env:DNS_TSIG_KEY``), in the form
``nsupdate -y`` takes, ``[algorithm:]name:secret`` with a base64 secret (algorithm
``hmac-sha256`` unless named). An unset variable means unsigned messages, as ``nsupdate``
without a key sends: the sandbox's DNS server and lab servers take them; a server that
requires a key refuses them, and the fault says which variable to set.

The secret is never part of a message's text: errors name the variable, not its value.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gamedays.model.secrets import parse_secret_ref

DEFAULT_REFERENCE = "env:DNS_TSIG_KEY"
ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5")
KEY_FORM = "[algorithm:]name:secret (as nsupdate -y takes it), the secret in base64"


class TsigKeyError(ValueError):
    """A key reference or a key that cannot be used; the message never holds the secret."""


@dataclass(frozen=True)
class TsigKey:
    """A TSIG key: its name, algorithm and (base64) secret; ``repr`` hides the secret."""

    name: str
    algorithm: str
    secret: str = field(repr=False)

    @classmethod
    def parse(cls, text: str, where: str) -> TsigKey:
        """``[algorithm:]name:secret``; ``where`` names the source (``DNS_TSIG_KEY``) in errors."""
        parts = text.strip().split(":")
        if len(parts) == 2:
            algorithm, (name, secret) = ALGORITHMS[0], parts
        elif len(parts) == 3:
            algorithm, name, secret = parts
        else:
            raise TsigKeyError(f"the TSIG key in {where} is not {KEY_FORM}")
        algorithm = algorithm.strip().lower().rstrip(".")
        if algorithm not in ALGORITHMS:
            raise TsigKeyError(f"the TSIG key in {where} names algorithm {algorithm!r}; allowed: {', '.join(ALGORITHMS)}")
        if not name.strip():
            raise TsigKeyError(f"the TSIG key in {where} has no key name: expected {KEY_FORM}")
        try:
            if not base64.b64decode(secret.strip(), validate=True):
                raise binascii.Error("empty")
        except (binascii.Error, ValueError):
            raise TsigKeyError(f"the secret of the TSIG key in {where} is not base64: expected {KEY_FORM}") from None
        return cls(name.strip(), algorithm, secret.strip())

    def sign(self, message: Any) -> Any:
        """Sign a dnspython ``message`` with this key (it is signed as it goes on the wire); returns it."""
        import dns.tsig

        message.use_tsig(dns.tsig.Key(self.name, self.secret, self.algorithm))
        return message


def key_from(reference: str | None, env: Mapping[str, str]) -> TsigKey | None:
    """The key the reference names (None: the default one), read from ``env``; None when it is unset or empty."""
    try:
        variable = parse_secret_ref(reference if reference is not None else DEFAULT_REFERENCE).env
    except ValueError:
        raise TsigKeyError(
            f"tsig_key must be a reference such as {DEFAULT_REFERENCE} (the key itself is never written down)"
        ) from None
    value = env.get(variable, "")
    return TsigKey.parse(value, variable) if value.strip() else None


def exchange_problem(exc: BaseException, key: TsigKey | None) -> str | None:
    """What a failed signed exchange means, or None when ``exc`` is not about the key (dnspython's exceptions)."""
    if key is None:
        return None
    kind = type(exc).__name__
    if kind in ("PeerBadKey", "PeerBadSignature", "PeerBadTime", "PeerBadTruncation"):
        return f"the server refused TSIG key {key.name} ({kind.removeprefix('Peer')}): it does not know the key, or the secret or the clock differs"
    if kind in ("BadSignature", "BadTime", "BadAlgorithm") or (kind == "FormError" and "TSIG" in str(exc)):
        return f"the server's answer does not carry a valid signature with TSIG key {key.name}: it does not know the key, or the secret differs"
    return None


def refusal_hint(rcode: str, key: TsigKey | None, reference: str | None = DEFAULT_REFERENCE) -> str:
    """A hint after an update's REFUSED/NOTAUTH: an unsigned update to a server that may want a key."""
    if key is not None or rcode not in ("REFUSED", "NOTAUTH"):
        return ""
    variable = parse_secret_ref(reference or DEFAULT_REFERENCE).env
    return f" (the update was unsigned: if the server requires a TSIG key, set {variable} to {KEY_FORM})"
