"""Prometheus metrics of a running gameday, served at ``/metrics`` (text exposition format 0.0.4).

:class:`RunMetrics` is a ``prometheus_client`` collector: at each scrape it reads the fold of
the events delivered so far (:meth:`gamedays.journal.delivery.Delivery.read`) and writes it with
``prometheus_client``'s own exposition. Nothing is counted twice: the counts are the fold's.
:class:`MetricsServer` serves it from a thread, bound to 127.0.0.1 unless told otherwise; a port
already in use is a :class:`MetricsError` raised by ``start()``, before the gameday begins.
"""

from __future__ import annotations

import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from gamedays.journal.delivery import Reader
from gamedays.journal.state import GamedayState, burned_by
from gamedays.model.dr import rto_seconds
from gamedays.model.errors import GamedayError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8067
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest writes
STEP_STATES = ("pending", "running", "passed", "deviated", "aborted", "error", "skipped")



class MetricsError(GamedayError):
    exit_code = 2


class RunMetrics:
    """The collector behind ``/metrics``: the fold ``read`` gives, as metric families, at each scrape."""

    def __init__(self, version: str, read: Reader) -> None:
        self._version = version
        self._read = read
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self)

    def render(self) -> str:
        return generate_latest(self._registry).decode("utf-8")

    def collect(self) -> Iterator[Metric]:
        return iter(self._read(self._families))

    def _families(self, state: GamedayState) -> list[Metric]:
        start = state.start
        info = GaugeMetricFamily("gameday_info", "The gameday being run and gameday's version.",
                                 labels=["gameday", "version", "mode", "environment"])
        info.add_metric([start.gameday if start else "", self._version, start.mode.value if start else "",
                         start.environment if start else ""], 1)
        running = GaugeMetricFamily("gameday_running", "1 while the gameday runs, 0 before it starts and once it finished.",
                                    value=1 if start is not None and state.finish is None else 0)
        slos = start.slos if start else ()
        objective = GaugeMetricFamily("gameday_slo_objective_ratio", "The SLO's objective, as a share of good samples.", labels=["slo"])
        value = GaugeMetricFamily("gameday_sli_value", "The SLI's last sampled value (NaN when the sample had no value).", labels=["slo"])
        good = GaugeMetricFamily("gameday_sli_good", "1 when the SLI's last sample met the SLO, 0 when it did not.", labels=["slo"])
        burned = GaugeMetricFamily("gameday_error_budget_burned_ratio",
                                   "Share of the SLO's window error budget the gameday burned so far (1 = all of it).", labels=["slo"])
        for slo in slos:
            objective.add_metric([slo.name], slo.objective)
            last = state.slos[slo.name].last
            if last is not None:
                value.add_metric([slo.name], math.nan if last.value is None else float(last.value))
                good.add_metric([slo.name], 1 if last.good else 0)
            burned.add_metric([slo.name], _burned(state, slo.name))
        samples = CounterMetricFamily("gameday_samples", "SLI samples taken.", labels=["slo"])
        bad = CounterMetricFamily("gameday_bad_samples", "SLI samples that did not meet the SLO.", labels=["slo"])
        for name in sorted(n for n, slo in state.slos.items() if slo.taken):
            samples.add_metric([name], state.slos[name].taken)
            bad.add_metric([name], state.slos[name].bad)
        steps = GaugeMetricFamily("gameday_step_state", "1 for each step's current state.", labels=["step", "state"])
        for step in state.steps.values():
            for name in STEP_STATES:
                steps.add_metric([step.id, name], 1 if step.state == name else 0)
        aborts = CounterMetricFamily("gameday_aborts", "Experiments aborted by the guardrails.", value=state.aborts)
        rto = GaugeMetricFamily("gameday_dr_rto_seconds", "A DR check's measured recovery time (NaN until it recovered).", labels=["check"])
        target = GaugeMetricFamily("gameday_dr_rto_target_seconds", "A DR check's RTO target.", labels=["check"])
        for check in state.checks.values():
            finished = check.finished
            measured = rto_seconds(finished.disaster_at, finished.recovered_at) if finished else None
            rto.add_metric([check.id], math.nan if measured is None else measured)
            if check.info is not None:
                target.add_metric([check.id], check.info.rto_seconds)
        failures = CounterMetricFamily("gameday_notification_failures", "Notifications given up after their retries.",
                                       value=len(state.notifications_failed))
        return [info, running, objective, value, good, burned, samples, bad, steps, aborts, rto, target, failures]


def _burned(state: GamedayState, slo: str) -> float:
    info = state.slos[slo].info
    try:
        return burned_by(state.slos[slo].bad, info, state.interval) if info is not None else math.nan
    except ValueError:
        return math.nan


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
