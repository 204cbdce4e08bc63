"""A real `gameday run` whose report.out is in the sandbox's moto S3: stored as it grows, re-rendered, recovered.

The journal object appears while the run goes on and grows (at the step boundaries and on the
10 s tick between them), the report files land beside it at the end, `gameday report s3://...`
on another machine (a GAMEDAY_HOME of its own) renders the same bytes, and after a power loss
mid-fault `gameday recover s3://...`, working only from what is stored, rolls the fault back:
the shop's pods are running again.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.catalog.support import wait_until
from tests.engine.run.conftest import PlanWriter, gameday_process, power_loss, run_gameday, scale_to_zero_experiment, shop_pods, wait_ready_pods
from tests.storage.conftest import S3, stored_plan

HOLD = 14  # seconds the fault holds: longer than the upload's 10 s tick, so a tick falls inside it
REPORT_FILES = ("report.html", "report.md", "report.json", "junit.xml", "actions.md", "actions.yaml")


def events(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def kinds(data: bytes) -> list[str]:
    return [e["event"] for e in events(data)]


def test_a_run_stores_its_journal_as_it_grows_then_its_report_and_a_rerender_elsewhere_is_identical(
    sandbox: dict[str, str], plans: PlanWriter, s3: S3, tmp_path: Path
):
    wait_ready_pods(sandbox, 3)
    url = s3.url("reports/test")
    step = {"id": "scale", "uses": scale_to_zero_experiment(HOLD), "hypothesis": ["dns-resolution"]}  # sampled, unhurt
    plan = stored_plan(plans, [step], url)
    process = gameday_process(sandbox, "run", str(plan))
    seen: list[bytes] = []  # each different journal object seen while the run was still going
    try:
        deadline = time.monotonic() + 180
        while process.poll() is None and time.monotonic() < deadline:
            data = s3.get("reports/test/journal.jsonl")
            if data is not None and (not seen or data != seen[-1]) and process.poll() is None:
                seen.append(data)
            time.sleep(0.3)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, out + err
    wait_ready_pods(sandbox, 3)

    running = [data for data in seen if "gameday_finished" not in kinds(data)]
    assert len(running) >= 2, f"the journal was not stored while the run went on: {[kinds(d)[-3:] for d in seen]}"
    assert all(later.startswith(earlier) and len(later) > len(earlier) for earlier, later in zip(running, running[1:])), (
        "the stored journal did not grow by appending"
    )
    armed = next(i for i, data in enumerate(running) if "fault_armed" in kinds(data))
    during = [data for data in running[armed + 1:] if "step_finished" not in kinds(data)]
    assert during, "no upload between the fault's start and its end: the 10 s tick did not fire within the hold"
    assert kinds(during[-1]).count("sample") > kinds(running[armed]).count("sample")

    copy = Path(sandbox["GAMEDAY_HOME"]) / "s3" / s3.bucket / "reports" / "test"  # the run's working copy
    stored = {key.removeprefix("reports/test/"): data for key, data in s3.objects("reports/test/").items()}
    for name in ("journal.jsonl", *REPORT_FILES, "experiments/scale.journal.json", "gameday.log"):
        assert name in stored, f"{name} was not stored: {sorted(stored)}"
    for name in ("journal.jsonl", *REPORT_FILES):
        assert stored[name] == (copy / name).read_bytes(), f"the stored {name} is not the run's"
    assert not any(name.endswith((".lock", ".lock.json", ".tmp")) for name in stored), sorted(stored)
    assert f"stored:  {url}" in out

    elsewhere = {**sandbox, "GAMEDAY_HOME": str(tmp_path / "elsewhere")}  # another machine: nothing of the run's copy
    rendered = run_gameday(elsewhere, "report", url, timeout=120)
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    assert f"{url}/report.html" in rendered.stdout
    again = {key.removeprefix("reports/test/"): data for key, data in s3.objects("reports/test/").items()}
    fresh = tmp_path / "elsewhere" / "s3" / s3.bucket / "reports" / "test"
    for name in REPORT_FILES:
        assert (fresh / name).read_bytes() == (copy / name).read_bytes(), f"{name} rendered from S3 differs from the run's"
        assert again[name] == stored[name], f"{name} in S3 changed by the re-render"


def test_after_a_power_loss_mid_fault_recover_from_the_stored_journal_rolls_the_fault_back(
    sandbox: dict[str, str], plans: PlanWriter, s3: S3, tmp_path: Path
):
    wait_ready_pods(sandbox, 3)
    url = s3.url("reports/killed")
    plan = stored_plan(plans, [{"id": "scale", "uses": scale_to_zero_experiment(300)}], url)
    process = gameday_process(sandbox, "run", str(plan))

    try:
        assert wait_until(lambda: not shop_pods(sandbox), 90, every=0.2), "the fault never showed"
        power_loss(process)  # at once, the orchestrator and its experiment, as a node lost with its pod
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert not shop_pods(sandbox), "the shop came back by itself: nothing left to prove"
    # the fault's record was stored before the fault was injected (the run waits for that upload)
    assert "fault_armed" in kinds(s3.get("reports/killed/journal.jsonl") or b""), "the stored journal misses the fault"

    elsewhere = {**sandbox, "GAMEDAY_HOME": str(tmp_path / "elsewhere")}  # only what S3 holds
    recovered = run_gameday(elsewhere, "recover", url, timeout=120)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "step scale: rolled back" in recovered.stdout
    wait_ready_pods(sandbox, 3, timeout=60)  # on the target: the rollback scaled the shop back to three pods
    played = [e for e in events(s3.get("reports/killed/journal.jsonl") or b"") if e["event"] == "rollbacks_played"]
    assert [(e["by"], e["succeeded"]) for e in played] == [("recover", True)], "recover's record was not stored"
    rollbacks = [key for key in s3.keys("reports/killed/experiments/") if ".recover." in key]
    assert rollbacks, "the Chaos Toolkit journal and log of recover's rollbacks were not stored"


def test_s3_lost_mid_run_is_reported_and_retried_and_the_gameday_goes_on_and_undoes_its_fault(
    sandbox: dict[str, str], plans: PlanWriter, s3: S3
):
    wait_ready_pods(sandbox, 3)
    url = s3.url("reports/outage")
    step = {"id": "scale", "uses": scale_to_zero_experiment(25), "hypothesis": ["dns-resolution"]}
    plan = stored_plan(plans, [step], url)
    process = gameday_process(sandbox, "run", str(plan))
    try:
        armed = wait_until(lambda: "fault_armed" in kinds(s3.get("reports/outage/journal.jsonl") or b""), 90, every=0.3)
        assert armed, "the journal never reached S3"
        assert wait_until(lambda: s3.drop_bucket(), 10, every=0.2), "the bucket could not be taken away"
        assert wait_until(lambda: not shop_pods(sandbox), 30), "the fault never showed"
        time.sleep(12)  # longer than the upload's tick: an upload meets the missing bucket
        s3.client.create_bucket(Bucket=s3.bucket)  # S3 is back: the next boundary uploads again
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, out + err  # the gameday went on to its end
    wait_ready_pods(sandbox, 3)  # and its rollbacks ran: the shop is back
    assert f"upload to {url} failed (the gameday goes on; retried at the next step or in 10s): {url}: the bucket" in out
    stored = events(s3.get("reports/outage/journal.jsonl") or b"")
    failed = [e for e in stored if e["event"] == "upload_failed"]
    assert len(failed) == 1 and failed[0]["location"] == url, failed  # journaled once per outage, then stored with the rest
    assert stored[-1]["event"] == "gameday_finished"
    assert s3.get("reports/outage/report.html") is not None
    log = s3.get("reports/outage/gameday.log") or b""
    assert f"upload to {url} failed".encode() in log and f"uploads to {url} resumed".encode() in log
