"""A DNS record set as written in a zone: the sandbox's server serves them, the DNS faults back them up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class RecordSet:
    """All records of one name and type: ``name`` absolute (``db.shop.internal.``), ``values`` in presentation format."""

    name: str
    rdtype: str
    ttl: int
    values: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str]:
        return self.name, self.rdtype

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "rdtype": self.rdtype, "ttl": self.ttl, "values": list(self.values)}
