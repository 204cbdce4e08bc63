"""Service level objectives and the SLI sources that measure them.

Every SLI is sampled: a sample is *good* or *bad* against the SLO (an HTTP call
that answered in time without a server error, a DNS name that resolved, ...).
The objective is the share of good samples the service promises over its window.
Text values may use ``${NAME}`` to read an environment variable at run time,
which is how the sandbox's ports reach a catalog.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Callable, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gamedays.model.sources import dsn_problem, server_problem, url_problem

from gamedays.model.units import Duration, Percentage, PercentageField, DurationBounds

_ZERO = Duration(0.0)
# a source's own deadline and a latency threshold: above 0s, at most 5m; a lag at most 1d; a window at most 366d
TimeoutField = Annotated[Duration, DurationBounds(_ZERO, Duration(300.0), low_open=True)]
LagField = Annotated[Duration, DurationBounds(_ZERO, Duration(86400.0), low_open=True)]
WindowField = Annotated[Duration, DurationBounds(_ZERO, Duration(366 * 86400.0), low_open=True)]

_NAME = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _allowing(problem: Callable[[str], str | None]) -> Callable[[type, str], str]:
    """A field validator refusing the values ``problem`` finds wrong (see gamedays.model.sources)."""

    def check(cls: type, value: str) -> str:
        found = problem(value)
        if found is not None:
            raise ValueError(found)
        return value

    return check


class HttpSLI(_Frozen):
    """Availability (and optionally latency) of an HTTP endpoint."""

    source: Literal["http"]
    url: str = Field(min_length=1, description="URL to call; ${NAME} reads the environment")
    method: Literal["GET", "HEAD", "POST", "PUT"] = "GET"
    body: str | None = None
    timeout: TimeoutField = Duration(2.0)
    bad_status: Literal["5xx", "4xx-5xx"] = Field(
        "5xx", description="status codes that count as bad samples"
    )
    latency_threshold: TimeoutField | None = Field(
        None, description="a sample slower than this is bad (a latency SLO)"
    )

    _url = field_validator("url")(_allowing(url_problem))


class PrometheusSLI(_Frozen):
    """A value from a Prometheus HTTP API query, or scraped from a /metrics endpoint."""

    source: Literal["prometheus"]
    url: str = Field(min_length=1, description="Prometheus base URL, or a /metrics URL to scrape")
    query: str = Field(min_length=1, description="PromQL (API) or a metric name with labels (scrape)")
    min: float | None = Field(None, description="the sample is bad below this value")
    max: float | None = Field(None, description="the sample is bad above this value")
    timeout: TimeoutField = Duration(2.0)

    _url = field_validator("url")(_allowing(url_problem))

    @model_validator(mode="after")
    def _bounded(self) -> PrometheusSLI:
        if self.min is None and self.max is None:
            raise ValueError("a prometheus SLI needs min or max (or both) to tell good from bad")
        return self


class DnsSLI(_Frozen):
    """Resolution of a name through a DNS server."""

    source: Literal["dns"]
    server: str = Field(min_length=1, description="host:port of the DNS server; ${NAME} allowed")
    name: str = Field(min_length=1)
    rdtype: Literal["A", "AAAA", "CNAME", "SRV", "TXT"] = "A"
    timeout: TimeoutField = Duration(1.0)

    _server = field_validator("server")(_allowing(server_problem))


class PostgresSLI(_Frozen):
    """A PostgreSQL write/read round trip, or the replication lag of a replica."""

    source: Literal["postgres"]
    dsn: str = Field(min_length=1, description="connection string; use ${DATABASE_URL}, never a password")
    check: Literal["write", "read", "replication-lag"] = "write"
    max_lag: LagField | None = None
    timeout: TimeoutField = Duration(2.0)

    _dsn = field_validator("dsn")(_allowing(dsn_problem))


class KubernetesSLI(_Frozen):
    """Ready pods of a deployment, through the kubeconfig of the environment."""

    source: Literal["kubernetes"]
    namespace: str = "default"
    deployment: str = Field(min_length=1)
    min_ready: int = Field(1, ge=0)


SLISource = Annotated[
    Union[HttpSLI, PrometheusSLI, DnsSLI, PostgresSLI, KubernetesSLI],
    Field(discriminator="source"),
]


class SLOKind(str, Enum):
    AVAILABILITY = "availability"
    LATENCY = "latency"
    CORRECTNESS = "correctness"
    FRESHNESS = "freshness"


class SLO(_Frozen):
    """One objective: the share of good SLI samples a service promises over a window."""

    name: str = Field(pattern=_NAME, description="lower-case words joined by '-'")
    service: str = Field(min_length=1)
    kind: SLOKind = SLOKind.AVAILABILITY
    description: str = ""
    sli: SLISource
    objective: PercentageField = Field(description="internal objective, enforced by gameday")
    external_objective: PercentageField | None = Field(
        None, description="what is promised outside (SLA); the internal objective must be stricter (R-2)"
    )
    window: WindowField = Duration(30 * 86400.0)

    @model_validator(mode="after")
    def _internal_stricter(self) -> SLO:
        if self.external_objective is not None and self.objective <= self.external_objective:
            raise ValueError(
                f"internal objective {self.objective} must be stricter than the external "
                f"objective {self.external_objective} (R-2)"
            )
        return self

    @property
    def budget(self) -> Percentage:
        """The error budget: the share of samples allowed to be bad."""
        return Percentage(round(1.0 - self.objective.fraction, 12))


class SLOCatalog(_Frozen):
    """The file that lists a team's SLOs (probes/slos.yaml)."""

    slos: tuple[SLO, ...] = Field(min_length=1)

    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.slos)

    def get(self, name: str) -> SLO:
        for slo in self.slos:
            if slo.name == name:
                return slo
        raise KeyError(name)
