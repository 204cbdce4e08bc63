"""The twin's one worker thread, in the moto child: it sleeps until the endpoint accepts a change, then reconciles.

The endpoint's trail (:class:`gamedays.sandbox.twin.trail.TrailRecorder`) hands every accepted
change to :meth:`TwinWorker.submit`, which only puts it on a queue; the worker thread takes
them one at a time, in order, and makes the sandbox's parts follow (Aurora, Route53, EC2
instances as nodes). Nothing polls: with nothing accepted, the thread blocks on the queue and
costs no CPU. A reconcile that
fails (a server refusing, a timeout) is logged and tried again every :data:`RETRY_SECONDS`, at
most :data:`RETRIES` times, or at the next change.

The sandbox attaches the twin once its parts run (:meth:`TwinWorker.attach`, the spec of what to
drive) and detaches it before it stops them. The attach only writes the sandbox zone into the
hosted zone; what Aurora and EC2 changes need (psycopg, the fault functions, their clients) is
loaded at the first such change. Until attached (a bare AWS endpoint, as in the moto tests),
accepted changes are recorded in the trail and nothing else happens.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from gamedays.sandbox.twin.spec import TwinSpec
from gamedays.sandbox.twin.trail import OWN_AGENT, TrailEvent

if TYPE_CHECKING:
    from gamedays.sandbox.twin.aurora import AuroraTwin
    from gamedays.sandbox.twin.nodes import NodesTwin
    from gamedays.sandbox.twin.pitr import PointInTimeTwin
    from gamedays.sandbox.twin.route53 import Route53Twin

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
RETRIES = 6
#: Calls answered only once the twin made them real, so that what they promise holds when they return:
#: a cluster snapshot holds every write acknowledged before the call returned.
SYNCHRONOUS = frozenset({("rds", "CreateDBClusterSnapshot")})
#: How long such a call may wait for the twin (then it returns, the twin going on).
SYNCHRONOUS_TIMEOUT = 120.0


@dataclass(frozen=True)
class _Attach:
    spec: TwinSpec
    done: Future[None] = field(default_factory=Future)


@dataclass(frozen=True)
class _Detach:
    done: Future[None] = field(default_factory=Future)


@dataclass(frozen=True)
class _Stop:
    pass


@dataclass(frozen=True)
class _FirstBackup:
    """Queued right after an attach: the automated base backup the cluster's restorable history starts with."""


@dataclass(frozen=True)
class _Waited:
    """A call of :data:`SYNCHRONOUS`, whose caller waits until its steps ran."""

    event: TrailEvent
    done: Future[None] = field(default_factory=Future)


_Item = Union[TrailEvent, _Waited, _Attach, _Detach, _Stop, _FirstBackup]


@dataclass(frozen=True)
class _Parts:
    """What an attached twin drives."""

    spec: TwinSpec
    route53: Route53Twin
    aurora: Callable[[], AuroraTwin]  # made on first use: an Aurora or EC2 change may never come
    pitr: Callable[[], PointInTimeTwin]
    nodes: Callable[[], NodesTwin]
    log_handler: logging.Handler


class TwinWorker:
    """One thread that makes the sandbox's parts follow the changes moto accepted."""

    def __init__(self, endpoint_url: str, region: str, session: Any = None) -> None:
        self._endpoint_url = endpoint_url
        self._region = region
        self._session = session  # a boto3 session (isolated_session) whose loaded models the twin's clients share
        self._queue: queue.Queue[_Item] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="aws-twin", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            self._queue.put(_Stop())
            self._thread.join(timeout)

    def submit(self, event: TrailEvent) -> None:
        """From the endpoint's request threads: queue ``event``; returns at once, or once its steps ran (:data:`SYNCHRONOUS`)."""
        if (event.service, event.action) not in SYNCHRONOUS or not self._thread.is_alive():
            self._queue.put(event)
            return
        waited = _Waited(event)
        self._queue.put(waited)
        try:
            waited.done.result(SYNCHRONOUS_TIMEOUT)
        except TimeoutError:
            log.error("%s took longer than %gs: answered before the twin made it real", event.action, SYNCHRONOUS_TIMEOUT)

    def attach(self, spec: TwinSpec, timeout: float) -> None:
        """Drive the parts ``spec`` names from now on; returns once the twin follows moto (raises what failed)."""
        item = _Attach(spec)
        self._queue.put(item)
        item.done.result(timeout)

    def detach(self, timeout: float) -> None:
        """Stop driving the parts once the changes queued before are reconciled; those accepted later are only recorded."""
        item = _Detach()
        self._queue.put(item)
        item.done.result(timeout)

    def _run(self) -> None:
        parts: _Parts | None = None
        failing: dict[str, Callable[[], None]] = {}
        attempts = 0
        while True:
            try:
                item = self._queue.get(timeout=RETRY_SECONDS if failing else None)
            except queue.Empty:
                attempts += 1
                failing = _run_steps(failing)
                if failing and attempts >= RETRIES:
                    log.error("giving up on %s after %d attempts: the sandbox is not what moto describes", sorted(failing), attempts)
                    failing = {}
                continue
            if isinstance(item, _Stop):
                return
            if isinstance(item, _Attach):
                parts = self._attach(item, parts)
                if parts is not None:
                    self._queue.put(_FirstBackup())
            elif isinstance(item, _FirstBackup):
                if parts is not None:
                    failing = _run_steps({**failing, "automated backup": lambda p=parts: p.pitr().automated_backup()})
            elif isinstance(item, _Detach):
                _detach(parts)
                parts, failing = None, {}
                item.done.set_result(None)
            else:
                event = item.event if isinstance(item, _Waited) else item
                steps = _steps_for(event, parts) if parts is not None else {}
                if steps:
                    failing = _run_steps({**failing, **steps})
                    attempts = 0
                if isinstance(item, _Waited):
                    item.done.set_result(None)

    def _attach(self, item: _Attach, parts: _Parts | None) -> _Parts | None:
        try:
            attached = self._parts(item.spec)
        except Exception as exc:  # noqa: BLE001 - handed to the sandbox, which fails its start with it
            item.done.set_exception(exc)
            return parts
        _detach(parts)
        item.done.set_result(None)
        return attached

    def _parts(self, spec: TwinSpec) -> _Parts:
        began = time.monotonic()
        from gamedays.sandbox.twin.route53 import Route53Twin

        handler = logging.FileHandler(spec.log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logging.getLogger("gamedays").addHandler(handler)
        try:
            route53 = Route53Twin(spec.hosted_zone_id, spec.zone, spec.dns_server, self._client("route53"))
            route53.attach(spec.records)
        except BaseException:
            logging.getLogger("gamedays").removeHandler(handler)
            handler.close()
            raise
        log.info("the AWS twin follows %s (attached in %.2fs)", self._endpoint_url, time.monotonic() - began)
        aurora = functools.cache(lambda: self._aurora(spec, route53, lambda: pitr().new_history()))
        pitr = functools.cache(lambda: self._pitr(spec, lambda: aurora().writer()))
        return _Parts(spec, route53, aurora, pitr, functools.cache(lambda: self._nodes(spec)), handler)

    def _aurora(self, spec: TwinSpec, route53: Route53Twin, on_new_history: Callable[[], None]) -> AuroraTwin:
        from gamedays.sandbox.twin.aurora import AuroraTwin

        return AuroraTwin(spec, self._client("rds"), on_record_moved=route53.mirror, on_new_history=on_new_history)

    def _pitr(self, spec: TwinSpec, writer: Callable[[], Any]) -> PointInTimeTwin:
        from gamedays.sandbox.twin.pitr import PointInTimeTwin

        return PointInTimeTwin(spec, writer)

    def _nodes(self, spec: TwinSpec) -> NodesTwin:
        from gamedays.sandbox.twin.nodes import NodesTwin

        return NodesTwin(spec.kube_url, spec.nodes, self._client("ec2"))

    def _client(self, service: str) -> Any:
        from gamedays.sandbox.aws import isolated_client

        return isolated_client(service, self._endpoint_url, self._region, user_agent_extra=OWN_AGENT, session=self._session)


def _steps_for(event: TrailEvent, parts: _Parts) -> dict[str, Callable[[], None]]:
    """What ``event`` asks of the twin, by name (a failed step of the same name is replaced, not repeated)."""
    spec, parameters = parts.spec, event.parameters
    if event.service == "rds" and event.action == "FailoverDBCluster":
        if parameters.get("DBClusterIdentifier") == spec.cluster:
            return {"aurora writer": lambda: parts.aurora().reconcile_writer()}
    elif event.service == "rds" and event.action == "RebootDBInstance":
        identifier = parameters.get("DBInstanceIdentifier", "")
        return {f"reboot {identifier}": lambda: parts.aurora().reboot(identifier)}
    elif event.service == "rds" and event.action in _AURORA_BACKUP:
        return _aurora_backup_step(event.action, parameters, parts)
    elif event.service == "route53" and event.action == "ChangeResourceRecordSets":
        if parameters.get("HostedZoneId", "").rsplit("/", 1)[-1] == spec.hosted_zone_id:
            return {"route53 records": parts.route53.reconcile}
    elif event.service == "ec2" and event.action in ("StopInstances", "StartInstances", "TerminateInstances"):
        return {"kubernetes nodes": lambda: parts.nodes().reconcile()}
    return {}


#: The RDS calls of a cluster's backup, loss and restore, and the parameter naming the cluster.
_AURORA_BACKUP = ("CreateDBClusterSnapshot", "DeleteDBClusterSnapshot", "DeleteDBInstance", "DeleteDBCluster",
                  "RestoreDBClusterFromSnapshot", "RestoreDBClusterToPointInTime", "CreateDBInstance")  # fmt: skip


def _aurora_backup_step(action: str, parameters: dict[str, str], parts: _Parts) -> dict[str, Callable[[], None]]:
    cluster, instance = parameters.get("DBClusterIdentifier"), parameters.get("DBInstanceIdentifier", "")
    ours = cluster == parts.spec.cluster
    if action == "CreateDBClusterSnapshot" and ours:
        snapshot = parameters.get("DBClusterSnapshotIdentifier", "")
        return {f"snapshot {snapshot}": lambda: parts.aurora().snapshot(snapshot)}
    if action == "DeleteDBClusterSnapshot":  # names no cluster: the twin knows its snapshots
        snapshot = parameters.get("DBClusterSnapshotIdentifier", "")
        return {f"forget {snapshot}": lambda: parts.aurora().forget_snapshot(snapshot)}
    if action == "DeleteDBInstance":  # names no cluster: the twin knows its instances and the restored ones
        return {f"lose {instance}": lambda: parts.aurora().lose(instance),
                f"delete restored {instance}": lambda: parts.pitr().delete_instance(instance)}  # fmt: skip
    if action == "DeleteDBCluster" and cluster:
        return {f"cluster {cluster} deleted": lambda: parts.aurora().cluster_deleted(cluster)}
    if action == "RestoreDBClusterFromSnapshot" and ours:
        snapshot = parameters.get("SnapshotIdentifier", "")
        return {"cluster restoring": lambda: parts.aurora().restoring(snapshot)}
    if action == "RestoreDBClusterToPointInTime" and parameters.get("SourceDBClusterIdentifier") == parts.spec.cluster and cluster:
        restore_time = parameters.get("RestoreToTime") or None
        return {f"{cluster} restoring": lambda: parts.pitr().restoring(cluster, restore_time)}
    if action == "CreateDBInstance" and ours:
        return {f"create {instance}": lambda: parts.aurora().create_instance(instance)}
    if action == "CreateDBInstance" and cluster:
        return {f"create {instance}": lambda: parts.pitr().create_instance(cluster, instance)}
    return {}


def _run_steps(steps: dict[str, Callable[[], None]]) -> dict[str, Callable[[], None]]:
    """Run each step; return those that failed (logged), to be tried again."""
    failed = {}
    for name, step in steps.items():
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - logged; tried again later: the twin outlives what it drives
            log.error("%s failed: %s: %s", name, type(exc).__name__, exc)
            if not name.startswith("reboot "):  # a reboot is done or not: not repeated
                failed[name] = step
    return failed


def _detach(parts: _Parts | None) -> None:
    if parts is not None:
        log.info("the AWS twin no longer drives the sandbox")
        logging.getLogger("gamedays").removeHandler(parts.log_handler)
        parts.log_handler.close()
