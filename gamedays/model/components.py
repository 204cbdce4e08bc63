"""Key components of an environment (R-4) and the coverage of their DR playbooks."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class ComponentKind(str, Enum):
    KUBERNETES_CLUSTER = "kubernetes-cluster"
    DATABASE_CLUSTER = "database-cluster"
    DNS_ZONE = "dns-zone"

    @property
    def label(self) -> str:
        return {
            ComponentKind.KUBERNETES_CLUSTER: "Kubernetes cluster",
            ComponentKind.DATABASE_CLUSTER: "database cluster",
            ComponentKind.DNS_ZONE: "DNS zone",
        }[self]


class Component(BaseModel):
    """One key component: a Kubernetes cluster, a database cluster or a DNS zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ComponentKind
    name: str = Field(min_length=1, description="The component's name, e.g. shop-db or shop.internal")

    def __str__(self) -> str:
        return f"{self.kind.label} '{self.name}'"


def uncovered(components: tuple[Component, ...], covered: set[Component]) -> list[Component]:
    """The components no DR playbook covers, in the plan's order."""
    return [c for c in components if c not in covered]
