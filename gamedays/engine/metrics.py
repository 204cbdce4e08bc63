"""Prometheus metrics of a running gameday, served at ``/metrics`` (text exposition format 0.0.4).

:class:`RunMetrics` is a journal listener: each event updates a little state
under a lock (microseconds: samples arrive from the monitor's threads); a
scrape renders that state. :class:`MetricsServer` serves it from a thread,
bound to 127.0.0.1 unless told otherwise; a port already in use is a
:class:`MetricsError` raised by ``start()``, before the gameday begins.
"""

from __future__ import annotations

import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from pydantic import BaseModel

from gamedays.model.budget import budget_burned
from gamedays.model.dr import rto_seconds
from gamedays.model.errors import GamedayError
from gamedays.model.events import (
    DRFinished,
    DRStarted,
    GamedayFinished,
    GamedayStarted,
    GuardrailTripped,
    NotificationFailed,
    SampleTaken,
    StepFinished,
    StepStarted,
)
from gamedays.model.units import Duration, Percentage

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8067
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STEP_STATES = ("pending", "running", "passed", "deviated", "aborted", "error", "skipped")


class MetricsError(GamedayError):
    exit_code = 2


class RunMetrics:
    """The state behind ``/metrics``; call it with every journal event."""

    def __init__(self, version: str) -> None:
        self._version = version
        self._lock = threading.Lock()
        self._start: GamedayStarted | None = None
        self._last: dict[str, SampleTaken] = {}
        self._samples: dict[str, int] = {}
        self._bad: dict[str, int] = {}
        self._steps: dict[str, str] = {}
        self._aborts = 0
        self._failures = 0
        self._dr: dict[str, tuple[float | None, float | None]] = {}  # check -> (rto, target)
        self._running = False

    def __call__(self, event: BaseModel) -> None:
        with self._lock:
            if isinstance(event, SampleTaken):
                self._last[event.slo] = event
                self._samples[event.slo] = self._samples.get(event.slo, 0) + 1
                if not event.good:
                    self._bad[event.slo] = self._bad.get(event.slo, 0) + 1
            elif isinstance(event, GamedayStarted):
                self._start = event
                self._running = True
                self._steps = {step.id: "pending" for step in event.steps}
                self._dr = {dr.id: (None, dr.rto_seconds) for dr in event.disaster_recovery}
            elif isinstance(event, StepStarted):
                self._steps[event.step] = "running"
            elif isinstance(event, StepFinished):
                self._steps[event.step] = event.outcome.value
            elif isinstance(event, GuardrailTripped):
                self._aborts += 1
            elif isinstance(event, NotificationFailed):
                self._failures += 1
            elif isinstance(event, DRStarted):
                self._dr.setdefault(event.check, (None, None))
            elif isinstance(event, DRFinished):
                target = self._dr.get(event.check, (None, None))[1]
                self._dr[event.check] = (rto_seconds(event.disaster_at, event.recovered_at), target)
            elif isinstance(event, GamedayFinished):
                self._running = False

    def render(self) -> str:
        with self._lock:
            return self._render()

    def _render(self) -> str:
        start = self._start
        out: list[str] = []

        def family(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")
            for labels, value in samples:
                out.append(f"{name}{_labels(labels)} {_number(value)}")

        info = {"gameday": start.gameday if start else "", "version": self._version,
                "mode": start.mode.value if start else "", "environment": start.environment if start else ""}
        family("gameday_info", "gauge", "The gameday being run and gameday's version.", [(info, 1)])
        family("gameday_running", "gauge", "1 while the gameday runs, 0 before it starts and once it finished.",
               [({}, 1 if self._running else 0)])
        slos = start.slos if start else ()
        family("gameday_slo_objective_ratio", "gauge", "The SLO's objective, as a share of good samples.",
               [({"slo": s.name}, s.objective) for s in slos])
        family("gameday_sli_value", "gauge", "The SLI's last sampled value (NaN when the sample had no value).",
               [({"slo": s.name}, _value(self._last.get(s.name))) for s in slos if s.name in self._last])
        family("gameday_sli_good", "gauge", "1 when the SLI's last sample met the SLO, 0 when it did not.",
               [({"slo": s.name}, 1 if self._last[s.name].good else 0) for s in slos if s.name in self._last])
        interval = start.interval_seconds if start else 0.0
        family("gameday_error_budget_burned_ratio", "gauge",
               "Share of the SLO's window error budget the gameday burned so far (1 = all of it).",
               [({"slo": s.name}, _burned(self._bad.get(s.name, 0), interval, s.objective, s.window_seconds)) for s in slos])
        family("gameday_samples_total", "counter", "SLI samples taken.",
               [({"slo": name}, count) for name, count in sorted(self._samples.items())])
        family("gameday_bad_samples_total", "counter", "SLI samples that did not meet the SLO.",
               [({"slo": name}, self._bad.get(name, 0)) for name in sorted(self._samples)])
        family("gameday_step_state", "gauge", "1 for each step's current state.",
               [({"step": step, "state": state}, 1 if current == state else 0)
                for step, current in self._steps.items() for state in STEP_STATES])
        family("gameday_aborts_total", "counter", "Experiments aborted by the guardrails.", [({}, self._aborts)])
        family("gameday_dr_rto_seconds", "gauge", "A DR check's measured recovery time (NaN until it recovered).",
               [({"check": check}, math.nan if rto is None else rto) for check, (rto, _) in self._dr.items()])
        family("gameday_dr_rto_target_seconds", "gauge", "A DR check's RTO target.",
               [({"check": check}, target) for check, (_, target) in self._dr.items() if target is not None])
        family("gameday_notification_failures_total", "counter", "Notifications given up after their retries.",
               [({}, self._failures)])
        return "\n".join(out) + "\n"


class MetricsServer:
    """``/metrics`` over HTTP from a daemon thread; ``start()`` binds (or raises MetricsError), ``stop()`` closes."""

    def __init__(self, render: Callable[[], str], host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self._render = render
        self.host = host
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def start(self) -> MetricsServer:
        render = self._render

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.split("?", 1)[0] != "/metrics":
                    self._send(404, b"only /metrics is served here\n")
                    return
                self._send(200, render().encode("utf-8"))

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # scrapes are not news
                pass

        server_class = _server_class(self.host)
        try:
            server = server_class((self.host, self.port), Handler)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise MetricsError(
                f"--metrics-host {self.host} --metrics-port {self.port}: cannot serve the gameday's metrics there: "
                f"{reason}; choose a free port (--metrics-port, 0 picks any free port) before the gameday starts"
            ) from None
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="gameday-metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _server_class(host: str) -> type[ThreadingHTTPServer]:
    import socket

    if ":" not in host:
        return ThreadingHTTPServer

    class IPv6Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    return IPv6Server


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    escaped = (f'{key}="{_escape(value)}"' for key, value in labels.items())
    return "{" + ",".join(escaped) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    return str(value)


def _value(sample: SampleTaken | None) -> float:
    return math.nan if sample is None or sample.value is None else float(sample.value)


def _burned(bad: int, interval: float, objective: float, window: float) -> float:
    try:
        return budget_burned(Duration(bad * interval), Percentage(objective), Duration(window))
    except ValueError:
        return math.nan
