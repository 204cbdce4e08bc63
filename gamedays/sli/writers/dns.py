"""The DNS RPO writer: one TXT record per write, added by RFC 2136 DNS UPDATE (TCP, signed with a TSIG key if set).

Record ``seq`` is the TXT value ``"<seq>"`` of ``_gameday-rpo-<tag>-<n>.<zone>``, where
``<tag>`` is the run tag (see :func:`run_tag`) and ``n = seq // 500``: 500 records per
name keep every answer far below the 64 KiB a DNS message can carry, however long the
check runs. The survivors are read back by asking the server directly, over TCP, for
each name this writer wrote to (the highest sequence it tried is remembered). Its cleanup also
finds the names of a run it did not write itself (``gameday recover`` after a power loss).
"""

from __future__ import annotations

from typing import Any

from gamedays.model.tsig import DEFAULT_REFERENCE, TsigKey, exchange_problem, refusal_hint
from gamedays.sli.dns import server_address
from gamedays.sli.writers.base import DEFAULT_TIMEOUT, WriterError, check_timeout, run_tag

PER_NAME = 500
MAX_NAMES = 10_000  # 5 million writes: the most names a cleanup looks for
PREFIX = "_gameday-rpo-"
TTL = 60


class DnsWriter:
    def __init__(
        self,
        server: str,
        zone: str,
        run_id: str,
        timeout: float = DEFAULT_TIMEOUT,
        tsig_key: TsigKey | None = None,
        key_reference: str = DEFAULT_REFERENCE,
    ) -> None:
        import dns.exception
        import dns.name

        address = server_address(server)
        if address is None:
            raise WriterError(
                f"dns writer: server {server!r} is not an IP address with an optional port, e.g. 127.0.0.1:5353"
            )
        try:
            self._zone = dns.name.from_text(zone)
        except (dns.exception.DNSException, ValueError) as exc:
            raise WriterError(f"dns writer: zone {zone!r} is not a DNS name: {exc}") from None
        self._host, self._port = address
        self._tag, self._timeout = run_tag(run_id), check_timeout(timeout)
        self._highest = 0
        self._key, self._reference = tsig_key, key_reference

    @property
    def describe(self) -> str:
        return f"dns {self._host}:{self._port} zone {self._zone.to_text()}"

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._key.secret,) if self._key is not None else ()

    def name_for(self, seq: int) -> str:
        """The absolute owner name record ``seq`` goes to."""
        return self._name(seq // PER_NAME).to_text()

    def prepare(self) -> None:
        """Checks the server answers with authority for the zone (its SOA)."""
        import dns.message
        import dns.rcode
        import dns.rdatatype

        response = self._exchange(dns.message.make_query(self._zone, "SOA"), "read the zone's SOA")
        soa = [rrset for rrset in response.answer if rrset.rdtype == dns.rdatatype.SOA]
        if response.rcode() != dns.rcode.NOERROR or not soa:
            raise WriterError(
                f"{self.describe}: the server does not serve the zone "
                f"({dns.rcode.to_text(response.rcode())}, no SOA for {self._zone.to_text()})"
            )

    def write(self, seq: int, at: float) -> None:
        import dns.update

        self._highest = max(self._highest, seq)
        update = dns.update.UpdateMessage(self._zone)
        update.add(self._name(seq // PER_NAME), TTL, "TXT", f'"{seq}"')
        self._send(update, f"write {seq}")

    def survivors(self) -> set[int]:
        import dns.message
        import dns.rcode
        import dns.rdatatype

        found: set[int] = set()
        for index in range(self._highest // PER_NAME + 1):
            name = self._name(index)
            response = self._exchange(dns.message.make_query(name, "TXT"), f"read {name}")
            rcode = response.rcode()
            if rcode == dns.rcode.NXDOMAIN:
                continue
            if rcode != dns.rcode.NOERROR:
                raise WriterError(f"{self.describe}: cannot read {name}: {dns.rcode.to_text(rcode)}")
            for rrset in response.answer:
                if rrset.name == name and rrset.rdtype == dns.rdatatype.TXT:
                    found.update(_seq(rdata) for rdata in rrset)
        found.discard(-1)
        return found

    def cleanup(self) -> str | None:
        import dns.update

        try:
            last = self._last_index()
            update = dns.update.UpdateMessage(self._zone)
            for index in range(last + 1):
                update.delete(self._name(index), "TXT")
            self._send(update, "delete this run's records")
        except WriterError as exc:
            return str(exc)
        return None

    def _last_index(self) -> int:
        """The last name holding this run's records: the highest sequence written says, and the names after it
        that still hold TXT records (a writer made again, after its process died, knows no sequence)."""
        import dns.message
        import dns.rcode
        import dns.rdatatype

        index = self._highest // PER_NAME
        while index < MAX_NAMES:
            name = self._name(index + 1)
            response = self._exchange(dns.message.make_query(name, "TXT"), f"delete this run's records (reading {name})")
            if response.rcode() != dns.rcode.NOERROR or not any(
                rrset.name == name and rrset.rdtype == dns.rdatatype.TXT for rrset in response.answer
            ):
                break
            index += 1
        return index

    def close(self) -> None:
        """Nothing held open: every exchange has a connection of its own."""

    def _name(self, index: int) -> Any:
        import dns.name

        return dns.name.from_text(f"{PREFIX}{self._tag}-{index}", origin=self._zone)

    def _send(self, update: Any, what: str) -> None:
        import dns.rcode

        if self._key is not None:
            self._key.sign(update)
        rcode = self._exchange(update, what).rcode()
        if rcode != dns.rcode.NOERROR:
            text = dns.rcode.to_text(rcode)
            raise WriterError(f"{self.describe}: the server refused to {what}: {text}{refusal_hint(text, self._key, self._reference)}")

    def _exchange(self, message: Any, what: str) -> Any:
        """One message over TCP: an update signed by :meth:`_send`, or a read (unsigned)."""
        import dns.exception
        import dns.query

        try:
            return dns.query.tcp(message, self._host, port=self._port, timeout=self._timeout)
        except dns.exception.Timeout:
            raise WriterError(f"{self.describe}: no answer within {self._timeout:g}s (trying to {what})") from None
        except (OSError, dns.exception.DNSException) as exc:
            problem = exchange_problem(exc, self._key if message.had_tsig else None)
            raise WriterError(f"{self.describe}: cannot {what}: {problem or exc}") from None


def _seq(rdata: Any) -> int:
    """The sequence number a TXT record holds, or -1 for a record that is not one of ours."""
    text = b"".join(rdata.strings).decode("ascii", "replace")
    return int(text) if text.isdigit() else -1
