"""A run's team integrations in one place: notifications, metrics, logs (what `gameday run` wires around the orchestrator).

Everything that can be wrong with them is found before the gameday starts: an
unset webhook variable (named with the plan's file:line), a metrics port in use.
The listeners are the orchestrator's; a notification given up (or an upload to
object storage that failed) is journaled through the orchestrator while it runs
(``record_external``), and appended to the journal once the run is over otherwise,
so the report and a later re-render see it. With ``report.out`` in object storage
the report folder is uploaded as it grows (:class:`gamedays.storage.upload.LiveUpload`)
and once more at the end (:meth:`Integrations.publish`).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence


from gamedays import __version__
from gamedays.journal.delivery import Delivery
from gamedays.journal.io import Journal
from gamedays.engine.logs import EventLog, LogFormat, RunLogging, environment_secrets
from gamedays.engine.metrics import DEFAULT_HOST, DEFAULT_PORT, MetricsServer, RunMetrics
from gamedays.engine.run import Orchestrator
from gamedays.loading.source import display_path, read_yaml
from gamedays.model.errors import InvalidInput, Problem
from gamedays.model.events import Event, UploadFailed
from gamedays.model.loaded import LoadedPlan
from gamedays.notify.messages import closing
from gamedays.notify.notifier import Notifier, WebhookNotConfigured
from gamedays.storage.mirror import Mirror
from gamedays.storage.upload import LiveUpload

NOTIFY_CLOSE_TIMEOUT = 10.0  # seconds the last messages may take once the report is written
logger = logging.getLogger(__name__)


class Integrations:
    def __init__(
        self,
        loaded: LoadedPlan,
        env: Mapping[str, str],
        *,
        report_dir: Path,
        log_format: LogFormat = LogFormat.HUMAN,
        metrics_host: str = DEFAULT_HOST,
        metrics_port: int | None = DEFAULT_PORT,
        notify_timeout: float = NOTIFY_CLOSE_TIMEOUT,
        mirror: Mirror | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._record: Callable[[Event], bool] | None = None
        self._notify_timeout = notify_timeout
        self._closed = False
        self.notifier = _notifier(loaded, env, self._external)  # raises before anything started
        self.delivery = Delivery()  # the orchestrator's listeners: these, and its terminal view
        self.metrics = RunMetrics(__version__, self.delivery.read)
        self.server = MetricsServer(self.metrics.render, metrics_host, metrics_port) if metrics_port is not None else None
        if self.server is not None:
            self.server.start()  # raises MetricsError when the port is taken
        try:
            self.logging = RunLogging(report_dir / "gameday.log", log_format, loaded.plan.gameday)
        except OSError:
            self._stop_server()
            raise
        self.logging.secrets.add(environment_secrets(env))
        self.logging.secrets.add(c.url for c in self.notifier.channels)
        self.events = EventLog()
        self.events.subscribe(self.delivery.hooks)
        self.notifier.subscribe(self.delivery.hooks)
        self.notifier.start()
        self.upload = LiveUpload(mirror, self._upload_failed) if mirror is not None else None
        if self.upload is not None:
            self.upload.subscribe(self.delivery.hooks)
            self.upload.start()

    @property
    def metrics_url(self) -> str | None:
        return self.server.url if self.server is not None else None

    def add_secrets(self, env: Mapping[str, str]) -> None:
        """The target's environment (a sandbox's DSNs): none of its passwords may reach a log line."""
        self.logging.secrets.add(environment_secrets(env))

    def journal_through(self, orchestrator: Orchestrator) -> None:
        """Failed notifications go to the journal through the running orchestrator, when it can take them."""
        with self._lock:
            self._record = orchestrator.record_external

    def run_ended(self, journal: Path) -> None:
        """The orchestrator returned: what failed meanwhile and could not go through it is appended to its journal."""
        with self._lock:
            self._record = None
            pending, self._pending = self._pending, []
        self._append(journal, pending)

    def finish(self, journal: Path, report: str = "", actions: Sequence[str] = ()) -> None:
        """Send the finished message (report location, top actions) within the bound; journal what failed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.notifier.close(self._notify_timeout, closing(report, actions))
        with self._lock:
            pending, self._pending = self._pending, []
        if journal.exists():
            self._append(journal, pending)

    def fault_stored(self) -> None:
        """Before a fault is injected: its record uploaded (bounded wait; a slow or lost S3 is reported, not waited for)."""
        if self.upload is not None and not self.upload.flush():
            logger.warning("the fault's record is not yet stored in %s; the gameday goes on", self.upload.mirror.url)

    def publish(self) -> str | None:
        """The report folder uploaded once more, whole (with retries); None when it is all stored, else why not."""
        return self.upload.close() if self.upload is not None else None

    def close(self) -> None:
        """Stop everything (also after an error): notifications still queued get their bounded chance,
        and the report folder one last upload."""
        with self._lock:
            unfinished = not self._closed
            self._closed = True
        if unfinished:
            self.notifier.close(min(self._notify_timeout, 5.0))
        if self.upload is not None:
            error = self.upload.close()
            if error:
                logger.error("the report folder was not uploaded whole: %s", error)
        self._stop_server()
        self.logging.close()

    def __enter__(self) -> Integrations:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _upload_failed(self, error: str) -> None:
        assert self.upload is not None
        self._external(UploadFailed(at=time.time(), location=self.upload.mirror.url, error=error))

    def _external(self, event: Event) -> None:
        """An event of the integrations themselves: journaled through the orchestrator, or kept for the end."""
        with self._lock:
            record = self._record
            if record is None:
                self._pending.append(event)
                return
        try:
            taken = record(event)  # False once the orchestrator's journal is closed
        except Exception:  # the orchestrator's journal closed meanwhile: keep it for the end
            taken = False
        if taken is False:
            with self._lock:
                self._pending.append(event)

    def _append(self, journal: Path, events: list[Event]) -> None:
        if not events:
            return
        try:
            with Journal(journal) as writer:
                for event in events:
                    writer.append(event)
        except OSError as exc:
            logger.error("could not journal %d failed notifications in %s: %s", len(events), display_path(journal), exc)
        for event in events:
            self.delivery.put(event)  # the run is over: delivered at once, in this thread

    def _stop_server(self) -> None:
        if self.server is not None:
            self.server.stop()


def _notifier(loaded: LoadedPlan, env: Mapping[str, str], on_failure: Callable[[Event], None]) -> Notifier:
    try:
        return Notifier(loaded.plan.notify, env, on_failure)
    except WebhookNotConfigured as exc:
        doc = read_yaml(loaded.path)
        raise InvalidInput([Problem(doc.name, doc.line(exc.field), f"{'.'.join(exc.field)}: {exc.reason}")]) from None
