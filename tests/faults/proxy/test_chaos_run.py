"""The proxy functions as Chaos Toolkit runs them: `chaos run` in its own process, python providers, rollbacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gamedays.processes import alive as pid_alive
from gamedays.processes import wait_gone
from gamedays.sandbox.ports import free_port
from tests.faults.proxy.conftest import port_refuses
from tests.faults.proxy.echo import EchoServer
from tests.support import REPO

CHAOS = str(Path(sys.executable).with_name("chaos"))


def _activity(kind: str, name: str, module: str, func: str, **arguments: object) -> dict[str, object]:
    return {
        "type": kind,
        "name": name,
        "provider": {"type": "python", "module": module, "func": func, "arguments": arguments},
    }


def test_a_chaos_run_adds_latency_then_blackholes_and_its_rollbacks_remove_the_proxy(echo: EchoServer, tmp_path: Path):
    port = free_port()
    state = str(tmp_path / "db-proxy.json")
    proxy = "gamedays.faults.local.proxy"
    probe = "tests.faults.proxy.echo"
    experiment = {
        "version": "1.0.0",
        "title": "The client copes with a slow, then a silent, dependency",
        "description": "a proxy in front of the echo server: 300 ms latency, then a blackhole",
        "method": [
            _activity("action", "proxy-in-front", proxy, "start_proxy",
                      listen_port=port, target=f"127.0.0.1:{echo.port}", state_file=state),
            _activity("probe", "round-trip-before", probe, "round_trip", port=port),
            _activity("action", "slow-network", proxy, "add_latency", state_file=state, latency_ms=300, jitter_ms=20),
            _activity("probe", "round-trip-slow", probe, "round_trip", port=port),
            _activity("action", "silent-network", proxy, "blackhole", state_file=state),
            _activity("probe", "round-trip-silent", probe, "round_trip", port=port, timeout=0.5),
        ],
        "rollbacks": [
            _activity("action", "clear-network-faults", proxy, "clear_faults", state_file=state),
            _activity("action", "remove-the-proxy", proxy, "stop_proxy", state_file=state),
        ],
    }  # fmt: skip
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment))
    journal_path = tmp_path / "journal.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run(
        [CHAOS, "--no-version-check", "--log-file", str(tmp_path / "chaos.log"),
         "--settings", str(tmp_path / "settings.yaml"), "run", "--journal-path", str(journal_path), str(path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert journal_path.exists(), run.stdout + run.stderr
    journal = json.loads(journal_path.read_text())
    runs = {entry["activity"]["name"]: entry for entry in journal["run"]}
    assert journal["status"] == "completed", run.stdout + run.stderr

    started = runs["proxy-in-front"]["output"]
    assert runs["proxy-in-front"]["status"] == "succeeded" and started["listen_port"] == port
    assert runs["round-trip-before"]["output"] < 0.25
    assert runs["slow-network"]["output"]["fault"]["latency_ms"] == 300.0
    assert 0.3 <= runs["round-trip-slow"]["output"] < 0.8
    assert runs["silent-network"]["status"] == "succeeded"
    assert runs["round-trip-silent"]["status"] == "failed"  # the client's own timeout fired
    assert "timed out" in runs["round-trip-silent"]["exception"][-1]

    rollbacks = {entry["activity"]["name"]: entry for entry in journal["rollbacks"]}
    assert rollbacks["clear-network-faults"]["status"] == "succeeded"
    assert rollbacks["clear-network-faults"]["output"]["fault"]["blackhole"] is False
    assert rollbacks["remove-the-proxy"]["status"] == "succeeded"
    assert rollbacks["remove-the-proxy"]["output"]["stopped"] is True

    pid = started["pid"]
    assert wait_gone([pid], 5.0), f"the proxy {pid} outlived its rollback"
    assert not pid_alive(pid)
    assert port_refuses(port)
    assert not Path(state).exists()
    assert (echo.accepted, echo.received) == (2, 2 * len("ping"))  # the blackholed ping never reached it
