"""A sampler that falls behind says so: the machine running gameday stalls (SIGSTOP) mid-baseline, for real.

The rehearsal runs on a named environment (nothing to start) with one SLI against a local HTTP
server, sampled every 200 ms. Stopped for 1.5 s and continued, the orchestrator's monitor finds
the ticks it missed: they are skipped, not sampled late, journaled as ``sampling_behind`` with
how many, and the report says which SLI has a gap.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engine.run.conftest import REPO
from tests.support import API_CATALOG, HARMLESS_EXPERIMENT

pytestmark = pytest.mark.e2e

STALL = 1.5  # seconds the orchestrator is stopped
INTERVAL = 0.2

CATALOG = API_CATALOG.format(timeout="150ms")
EXPERIMENT = HARMLESS_EXPERIMENT


def events(journal: Path) -> list[dict]:
    try:
        return [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    except (OSError, ValueError):
        return []


def test_a_stalled_orchestrator_skips_the_ticks_it_missed_and_says_so(tmp_path: Path, http_server):
    url, _behaviour = http_server
    (tmp_path / "slos.yaml").write_text(CATALOG)
    (tmp_path / "harmless.json").write_text(json.dumps(EXPERIMENT))
    plan = {
        "gameday": "stall", "title": "a stalled machine", "date": "2024-05-21", "environment": "staging",
        "environment_on_this_host": True, "team": {"commander": "tester"}, "slos": "slos.yaml",
        "monitor": {"interval": "200ms", "baseline": "6s", "cooldown": "1s", "timeout": "150ms"},
        "experiments": [{"id": "harmless", "uses": "harmless.json", "hypothesis": ["api"]}],
        "report": {"out": str(tmp_path / "report"), "formats": ["md", "json"]},
    }  # fmt: skip
    (tmp_path / "plan.yaml").write_text(json.dumps(plan))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GAMEDAY_", "SANDBOX_"))}
    env.update(GAMEDAY_HOME=str(tmp_path / "home"), API_URL=url, GAMEDAY_METRICS_PORT="0")
    journal = tmp_path / "report" / "rehearsal" / "journal.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "gamedays", "rehearse", str(tmp_path / "plan.yaml"), "--confirm", "staging"],
                               env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len([e for e in events(journal) if e["event"] == "sample"]) < 5:
            assert process.poll() is None and time.monotonic() < deadline, "the rehearsal did not start sampling"
            time.sleep(0.05)
        process.send_signal(signal.SIGSTOP)  # the machine stalls
        time.sleep(STALL)
        process.send_signal(signal.SIGCONT)
        out, err = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, out[-2000:] + err[-2000:]
    behind = [e for e in events(journal) if e["event"] == "sampling_behind"]
    assert behind and {e["slo"] for e in behind} == {"api"}, behind
    skipped = sum(e["skipped"] for e in behind)
    assert int(STALL / INTERVAL) - 3 <= skipped <= int(STALL / INTERVAL) + 3, skipped  # the ticks missed, not sampled late
    report = (tmp_path / "report" / "rehearsal" / "report.md").read_text()
    assert "Sampling fell behind (the machine running gameday stalled)" in report and "api" in report
