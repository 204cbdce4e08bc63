"""The SLIs as Chaos Toolkit probes: called directly against real servers, and through a real `chaos run`."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed
from chaoslib.provider.python import validate_python_activity

from gamedays.loading.activities import check_python_provider
from gamedays.sandbox.dns import ZoneServer
from gamedays.sandbox.ports import free_port
from gamedays.sandbox.postgres import PostgresCluster
from gamedays.sli import probes
from tests.sli.fixtures import Kube, kube, pg, zone  # noqa: F401 - fixtures

CHAOS = str(Path(sys.executable).with_name("chaos"))
MODULE = "gamedays.sli.probes"
SAMPLE_KEYS = {"good", "value", "error", "elapsed"}
METRICS = 'shop_up{replica="1"} 1\nshop_up{replica="2"} 1\nshop_up{replica="3"} 0\n'


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/healthz"


# -- http ------------------------------------------------------------------------------------------


def test_http_probe_is_true_for_a_good_answer_and_false_for_a_bad_one(http_server, caplog):
    url, behaviour = http_server
    assert probes.http_probe(url + "/healthz") is True
    behaviour.status = 503
    with caplog.at_level(logging.WARNING, logger=MODULE):
        assert probes.http_probe(url + "/healthz") is False
    assert f"http SLI sample bad: GET {url}/healthz: HTTP 503" in caplog.messages


def test_http_probe_returns_false_for_a_dead_target_instead_of_raising(caplog):
    url = dead_url()
    with caplog.at_level(logging.WARNING, logger=MODULE):
        assert probes.http_probe(url, timeout=1) is False
    assert any("Connection refused" in message for message in caplog.messages)


@pytest.mark.parametrize("threshold", [0.5, "500ms", "0.5"])
def test_http_probe_latency_threshold_in_seconds_or_with_a_unit(http_server, threshold: object):
    url, behaviour = http_server
    assert probes.http_probe(url, latency_threshold=threshold) is True  # a local answer, even on a busy machine
    behaviour.delay = 1.5
    assert probes.http_probe(url, latency_threshold=threshold) is False


def test_http_probe_sends_method_and_body_and_reads_variables_from_the_environment(http_server, monkeypatch):
    url, behaviour = http_server
    monkeypatch.setenv("SHOP_URL", url)
    behaviour.status = 404
    assert probes.http_probe("${SHOP_URL}/orders", method="POST", body='{"item": "probe"}') is True
    assert probes.http_probe("${SHOP_URL}/orders", method="POST", body="{}", bad_status="4xx-5xx") is False
    assert behaviour.requests[-2] == ("POST", "/orders", b'{"item": "probe"}')
    monkeypatch.delenv("SHOP_URL")
    assert probes.http_probe("${SHOP_URL}/orders") is False


def test_http_seconds_until_good_waits_for_the_first_good_answer(http_server):
    url, behaviour = http_server
    behaviour.status = 503
    recovered = threading.Timer(0.6, lambda: setattr(behaviour, "status", 200))
    recovered.start()
    try:
        took = probes.http_seconds_until_good(url + "/orders", method="POST", body="{}", within="10s")
    finally:
        recovered.cancel()
    assert 0.5 <= took < 10
    assert behaviour.requests[-1] == ("POST", "/orders", b"{}") and len(behaviour.requests) >= 2


def test_http_seconds_until_good_fails_the_activity_with_the_last_reason(http_server):
    url, behaviour = http_server
    behaviour.status = 503
    with pytest.raises(ActivityFailed, match=rf"GET {url}/healthz gave no good sample within 0.5s; the last: GET {url}/healthz: HTTP 503"):
        probes.http_seconds_until_good(url + "/healthz", within=0.5)


def test_http_sample_is_the_whole_reading_and_json_serialisable(http_server):
    url, behaviour = http_server
    good = probes.http_sample(url)
    assert set(good) == SAMPLE_KEYS and good["good"] is True and good["error"] is None
    assert 0 < good["value"] < 2 and good["elapsed"] >= 0
    behaviour.status = 500
    bad = probes.http_sample(url)
    assert bad["good"] is False and bad["error"] == f"GET {url}: HTTP 500"
    assert json.loads(json.dumps(bad)) == bad
    dead = probes.http_sample(dead_url(), timeout="1s")
    assert dead["good"] is False and dead["value"] is None and "Connection refused" in dead["error"]


SECRET = "hunter2-Sekr3t"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"http://127.0.0.1:1/x?token={SECRET}", "Connection refused"),
    ],
)
def test_a_url_that_cannot_be_called_is_a_bad_sample_without_its_secrets(url: str, reason: str):
    for sample in (probes.http_sample(url, timeout=1), probes.prometheus_sample(url, "up", min=1, timeout=1)):
        assert sample["good"] is False and reason in sample["error"]
        assert SECRET not in sample["error"] and "Sekr3t" not in sample["error"]


@pytest.mark.parametrize("url", [f"http://probe:{SECRET}@127.0.0.1:notaport/x", f"http://probe:{SECRET}@[::1/x", f"probe:{SECRET}@127.0.0.1/x"])
def test_a_url_that_is_no_http_url_is_refused_as_a_setting_without_its_secrets(url: str):
    for sample in (lambda: probes.http_sample(url, timeout=1), lambda: probes.prometheus_sample(url, "up", min=1, timeout=1)):
        with pytest.raises(ValueError) as refused:
            sample()
        assert "url: Value error, this value is not allowed: use an http:// or https:// URL" in str(refused.value)
        assert SECRET not in str(refused.value) and "Sekr3t" not in str(refused.value)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"method": "FETCH"}, "bad http SLI settings: method: Input should be 'GET', 'HEAD', 'POST' or 'PUT'"),
        ({"timeout": -1}, "timeout: a duration must be finite and non-negative, not -1.0"),
        ({"timeout": "2 parsecs"}, "timeout: bad duration '2 parsecs'"),
        ({"timeout": True}, "timeout: True is not a duration"),
        ({"bad_status": "3xx"}, "bad http SLI settings: bad_status: Input should be '5xx' or '4xx-5xx'"),
    ],
)
def test_settings_that_describe_no_sli_raise_a_value_error_that_says_which(arguments: dict, message: str):
    with pytest.raises(ValueError) as caught:
        probes.http_probe("http://127.0.0.1:1/", **arguments)
    assert message in str(caught.value)


# -- prometheus, dns, postgres, kubernetes ---------------------------------------------------------


def test_prometheus_probe_scrapes_and_checks_the_bounds(http_server):
    url, behaviour = http_server
    behaviour.body = METRICS.encode()
    assert probes.prometheus_probe(url + "/metrics", "shop_up", min=2) is True
    assert probes.prometheus_probe(url + "/metrics", "shop_up", min=3) is False
    sample = probes.prometheus_sample(url + "/metrics", "shop_up", min=1, max=2)
    assert sample == {"good": True, "value": 2.0, "error": None, "elapsed": sample["elapsed"]}
    with pytest.raises(ValueError, match="needs min or max"):
        probes.prometheus_probe(url + "/metrics", "shop_up")


def test_dns_probe_resolves_through_the_sandbox_server(zone: ZoneServer, monkeypatch):
    monkeypatch.setenv("SANDBOX_DNS", zone.address)
    assert probes.dns_probe("${SANDBOX_DNS}", "db.shop.internal") is True
    assert probes.dns_probe(zone.address, "db.shop.internal", rdtype="SRV") is True
    zone.remove_records("db")
    sample = probes.dns_sample("${SANDBOX_DNS}", "db.shop.internal")
    assert sample["good"] is False and sample["error"] == f"db.shop.internal A: NXDOMAIN from {zone.address}"
    zone.set_fault(drop=True)
    assert probes.dns_probe(zone.address, "api.shop.internal", timeout="300ms") is False


def test_postgres_probe_writes_on_the_primary_and_not_on_the_replica(pg: PostgresCluster, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", pg.primary.conninfo("shop", "shop"))
    assert probes.postgres_probe("${DATABASE_URL}") is True
    assert probes.postgres_probe(pg.replica.conninfo("shop", "shop")) is False
    assert probes.postgres_probe(pg.replica.conninfo("shop", "shop"), check="read") is True
    lag = probes.postgres_sample(pg.primary.dsn, check="replication-lag", max_lag="5s")
    assert lag["good"] is True and 0.0 <= lag["value"] < 5.0
    assert probes.postgres_probe(f"postgresql://shop@127.0.0.1:{free_port()}/shop", timeout=1) is False


def test_kubernetes_probe_reads_the_kubeconfig_of_the_process_environment(kube: Kube, monkeypatch, tmp_path):
    kube.sandbox.create_deployment("sli-probes", "shop", replicas=2)
    assert kube.sandbox.wait_ready("sli-probes", "shop", timeout=15.0)
    kube.remember_pids()
    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
    assert probes.kubernetes_probe("shop", namespace="sli-probes", min_ready=2) is True
    assert probes.kubernetes_probe("shop", namespace="sli-probes", min_ready=3) is False
    assert probes.kubernetes_sample("shop", namespace="sli-probes")["value"] == 2.0
    assert probes.kubernetes_probe("nosuch", namespace="sli-probes") is False
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))  # changed after the client was imported
    assert probes.kubernetes_probe("shop", namespace="sli-probes") is False


# -- tolerances ------------------------------------------------------------------------------------


def test_sample_tolerances():
    good = {"good": True, "value": 0.2, "error": None, "elapsed": 0.2}
    bad = {"good": False, "value": 0.2, "error": "slow", "elapsed": 0.2}
    assert probes.sample_is_good(good) and not probes.sample_is_good(bad)
    assert not probes.sample_is_good(None) and not probes.sample_is_good({"good": "yes"})
    assert probes.sample_within(good, upper=0.3) and probes.sample_within(good, lower=0.1, upper=0.2)
    assert not probes.sample_within(good, upper=0.1) and not probes.sample_within(good, lower=0.3)
    assert not probes.sample_within(bad, upper=1.0)
    assert not probes.sample_within({"good": True, "value": None}, upper=1.0)


# -- as Chaos Toolkit sees them --------------------------------------------------------------------


def _probe(title: str, func: str, tolerance: Any, /, **arguments: Any) -> dict[str, Any]:
    return {
        "type": "probe",
        "name": title,
        "tolerance": tolerance,
        "provider": {"type": "python", "module": MODULE, "func": func, "arguments": arguments},
    }


def _tolerance(func: str, **arguments: Any) -> dict[str, Any]:
    provider = {"type": "python", "module": MODULE, "func": func, "arguments": arguments}
    return {"type": "probe", "name": func, "provider": provider}


@pytest.mark.parametrize(
    "activity",
    [
        _probe("h", "http_probe", True, url="${SHOP_URL}/healthz", method="POST", body="{}", latency_threshold="300ms"),
        _probe("p", "prometheus_probe", True, url="http://x/metrics", query="up", min=1),
        _probe("d", "dns_probe", True, server="${SANDBOX_DNS}", name="db.shop.internal"),
        _probe("g", "postgres_probe", True, dsn="${DATABASE_URL}", check="replication-lag", max_lag="5s"),
        _probe("k", "kubernetes_probe", True, deployment="shop", namespace="shop", min_ready=2),
        _probe("s", "http_sample", _tolerance("sample_within", upper=0.3), url="http://x"),
        _tolerance("sample_is_good"),
    ],
    ids=lambda a: a["provider"]["func"],
)
def test_chaoslib_and_the_static_check_accept_the_probes(activity: dict[str, Any]):
    validate_python_activity(activity)
    assert check_python_provider(activity["name"], activity["provider"]) is None


def _chaos_run(
    folder: Path, experiment: dict[str, Any], env: dict[str, str]
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    path = folder / "experiment.json"
    path.write_text(json.dumps(experiment))
    journal = folder / "journal.json"
    run = subprocess.run(
        [CHAOS, "--no-version-check", "--settings", str(folder / "settings.yaml"), "--log-file", str(folder / "chaos.log"),
         "run", "--journal-path", str(journal), str(path)],
        cwd=folder, env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert journal.exists(), run.stdout + run.stderr
    return json.loads(journal.read_text()), run


def test_a_chaos_run_whose_hypothesis_holds_completes(http_server, tmp_path: Path):
    url, behaviour = http_server
    experiment = {
        "version": "1.0.0",
        "title": "The shop stays healthy",
        "description": "steady state from gameday's SLI probes, against a real local HTTP server",
        "configuration": {"shop_url": {"type": "env", "key": "SHOP_URL"}},
        "steady-state-hypothesis": {
            "title": "the shop answers",
            "probes": [
                # ${shop_url} is Chaos Toolkit's configuration; ${SHOP_URL} reaches the probe and reads the environment
                _probe("healthz", "http_probe", True, url="${shop_url}/healthz", latency_threshold="1s"),
                _probe(
                    "orders", "http_sample", _tolerance("sample_is_good"), url="${SHOP_URL}/orders", method="POST", body="{}"
                ),
                _probe("fast", "http_sample", _tolerance("sample_within", upper=1.0), url="${SHOP_URL}/healthz"),
            ],
        },
        "method": [_probe("look-again", "http_probe", True, url="${SHOP_URL}/")],
        "rollbacks": [],
    }
    journal, run = _chaos_run(tmp_path, experiment, {"SHOP_URL": url})
    assert (journal["status"], journal["deviated"]) == ("completed", False), run.stdout + run.stderr
    for moment in ("before", "after"):
        state = journal["steady_states"][moment]
        assert state["steady_state_met"] is True
        outputs = {p["activity"]["name"]: p["output"] for p in state["probes"]}
        assert outputs["healthz"] is True
        assert outputs["orders"]["good"] is True and set(outputs["orders"]) == SAMPLE_KEYS
        assert 0 < outputs["fast"]["value"] < 1.0
    assert journal["run"][0]["output"] is True
    paths = [request[1] for request in behaviour.requests]
    assert paths.count("/healthz") == 4 and paths.count("/orders") == 2 and paths.count("/") == 1


def test_a_chaos_run_whose_probe_targets_a_dead_port_does_not_meet_the_hypothesis(tmp_path: Path):
    url = dead_url()
    experiment = {
        "version": "1.0.0",
        "title": "A service nobody runs is healthy (it is not)",
        "description": "the hypothesis probe calls a port nothing listens on",
        "steady-state-hypothesis": {
            "title": "the service answers",
            "probes": [_probe("healthz", "http_probe", True, url=url, timeout=1)],
        },
        "method": [_probe("never-run", "http_probe", True, url=url)],
        "rollbacks": [],
    }
    journal, run = _chaos_run(tmp_path, experiment, {})
    # chaoslib 1.44: a hypothesis probe that answers out of tolerance (rather than raising) ends the run
    # "completed", not deviated, exit code 0; only steady_states.before says the hypothesis was not met
    assert (journal["status"], journal["deviated"], run.returncode) == ("completed", False, 0), run.stdout + run.stderr
    before = journal["steady_states"]["before"]
    assert before["steady_state_met"] is False
    [probe] = before["probes"]
    assert probe["status"] == "succeeded"  # the probe ran and said False; it did not crash
    assert probe["output"] is False and probe["tolerance_met"] is False
    assert journal["run"] == []  # the method never ran
    # the reason, logged by the probe (at WARNING, on stderr: chaostoolkit configures only its own logger)
    assert f"http SLI sample bad: GET {url}: " in run.stderr and "Connection refused" in run.stderr
