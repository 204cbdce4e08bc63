"""The server side of TSIG (RFC 8945) for a sandbox DNS server given a key: verify, then sign the replies.

A server with a key takes updates and zone transfers only when they are signed with it, as
BIND does with ``allow-update { key NAME; }`` and ``allow-transfer { key NAME; }``: an
unsigned one is REFUSED, one signed with another key or a wrong secret NOTAUTH. The replies
to a signed message are signed (a zone transfer of several messages as one signed stream).
Plain queries are answered as without a key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.tsig

from gamedays.model.tsig import TsigKey

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verified:
    """A message that carries a valid signature with the server's key, or the rcode to refuse it with."""

    message: dns.message.Message | None
    refusal: dns.rcode.Rcode | None


class ServerKey:
    """The one key a server accepts."""

    def __init__(self, key: TsigKey) -> None:
        self.name = key.name
        self._keyring = {dns.name.from_text(key.name): dns.tsig.Key(key.name, key.secret, key.algorithm)}

    def verify(self, data: bytes, what: str) -> Verified:
        """``data`` read and its signature checked; ``what`` (``update``, ``zone transfer``) for the log."""
        try:
            message = dns.message.from_wire(data, keyring=self._keyring)
        except dns.message.UnknownTSIGKey:
            logger.info("refused a DNS %s signed with a key this server does not know", what)
            return Verified(None, dns.rcode.NOTAUTH)
        except (dns.tsig.BadSignature, dns.tsig.BadTime, dns.tsig.BadAlgorithm) as exc:
            logger.info("refused a DNS %s: its signature does not verify (%s)", what, type(exc).__name__)
            return Verified(None, dns.rcode.NOTAUTH)
        except dns.exception.DNSException as exc:
            logger.info("malformed DNS %s: %s", what, exc)
            return Verified(None, dns.rcode.FORMERR)
        if not message.had_tsig:
            logger.info("refused an unsigned DNS %s: this server takes them signed with key %s only", what, self.name)
            return Verified(None, dns.rcode.REFUSED)
        return Verified(message, None)

    @staticmethod
    def sign(request: dns.message.Message, replies: list[bytes], *, stream: bool) -> list[bytes]:
        """``replies`` to the verified ``request``, each signed; ``stream``: one signed sequence (a zone transfer)."""
        signed: list[bytes] = []
        context = None
        for index, wire in enumerate(replies):
            # one RR per RRset: a transfer ends with the SOA it began with, which must not merge into the first
            reply = dns.message.from_wire(bytes(wire), one_rr_per_rrset=True)  # (dnslib packs a bytearray)
            reply.use_tsig(request.keyring, keyname=request.keyname, algorithm=request.keyalgorithm)
            if index == 0:
                reply.request_mac = request.mac
            signed.append(reply.to_wire(multi=stream, tsig_ctx=context))
            context = reply.tsig_ctx
        return signed
