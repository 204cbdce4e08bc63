"""RPO data writers for DR verification: stamped writes during a check, read back after recovery.

:func:`writer_for` builds the writer a playbook's ``writer:`` asks for; a
:class:`WriteRecorder` keeps it writing on its own thread. See
:mod:`gamedays.sli.writers.base` for the order of calls.
"""

from __future__ import annotations

from typing import Mapping

from gamedays.model.playbook import DataWriter, WriterKind
from gamedays.model.tsig import TsigKey, TsigKeyError, key_from
from gamedays.sli.expand import MissingVariable, expand
from gamedays.sli.writers.base import DEFAULT_TIMEOUT, MissingWriterVariable, Writer, WriterError, run_tag
from gamedays.sli.writers.recorder import RecorderCounts, WriteRecorder

__all__ = [
    "DEFAULT_TIMEOUT",
    "MissingWriterVariable",
    "RecorderCounts",
    "WriteRecorder",
    "Writer",
    "WriterError",
    "run_tag",
    "writer_for",
]


def writer_for(spec: DataWriter, env: Mapping[str, str], run_id: str, timeout: float = DEFAULT_TIMEOUT) -> Writer:
    """The writer ``spec`` describes, ``${NAME}`` in its target and zone read from ``env``.

    Raises :class:`MissingWriterVariable` for a name ``env`` lacks and :class:`WriterError`
    for a target that cannot be one (a bad connection string, server address, zone or
    namespace). Nothing is contacted yet: :meth:`Writer.prepare` does that.
    """
    if not run_id:
        raise WriterError("a writer needs a run id (it keeps parallel runs apart)")
    kind = spec.kind.value
    target = _expand(spec.target, env, kind, "target")
    if spec.kind is WriterKind.POSTGRES:
        from gamedays.sli.writers.postgres import PostgresWriter

        read_back = _expand(spec.read_back, env, kind, "read_back") if spec.read_back else None
        return PostgresWriter(target, run_id, timeout, read_back=read_back)
    if spec.kind is WriterKind.DNS:
        from gamedays.sli.writers.dns import DnsWriter

        return DnsWriter(target, _expand(spec.zone or "", env, kind, "zone"), run_id, timeout, _key(spec, env), str(spec.key_reference))
    from gamedays.sli.writers.kubernetes import KubernetesWriter

    return KubernetesWriter(target, env, run_id, timeout)


def _key(spec: DataWriter, env: Mapping[str, str]) -> TsigKey | None:
    try:
        return key_from(str(spec.key_reference), env)
    except TsigKeyError as exc:
        raise WriterError(f"dns writer: {exc}") from None


def _expand(text: str, env: Mapping[str, str], kind: str, field: str) -> str:
    try:
        return expand(text, env)
    except MissingVariable as exc:
        raise MissingWriterVariable(exc.name, kind, field) from None
