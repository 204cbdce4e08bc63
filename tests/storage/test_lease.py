"""One writer per stored gameday across machines: the lease in moto's S3, held, renewed, refused, taken over.

Two machines are two local copies (two GAMEDAY_HOMEs): the local lock cannot see the other, the
bucket's lease does. The conditional writes are S3's own (If-None-Match, If-Match), served by moto.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gamedays.model.location import parse_s3_url
from gamedays.sandbox.aws import AwsSandbox
from gamedays.storage.bucket import Bucket
from gamedays.storage.lease import LEASE, LeaseHeld, StoredLease
from tests.storage.conftest import S3, new_bucket_name
from tests.support import API_CATALOG, HARMLESS_EXPERIMENT


@pytest.fixture
def stored(aws: AwsSandbox, moto_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[S3, Bucket]:
    for key, value in moto_env.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)  # the bucket's client takes the standard chain, as gameday does
    s3 = S3(aws.endpoint_url, aws.seed.region, new_bucket_name())
    return s3, Bucket(parse_s3_url(s3.url("reports/2024-06")), moto_env)


def test_a_second_holder_is_refused_naming_the_first_until_it_releases(stored: tuple[S3, Bucket]):
    s3, bucket = stored
    first = StoredLease(bucket, "gameday run")
    first.acquire()
    held = json.loads(s3.get(f"reports/2024-06/{LEASE}") or b"{}")
    assert (held["pid"], held["command"]) == (os.getpid(), "gameday run") and held["expires"] > time.time()
    with pytest.raises(LeaseHeld, match=rf"s3://{s3.bucket}/reports/2024-06: this gameday is already in use by gameday run pid {os.getpid()} on "):
        StoredLease(bucket, "gameday recover").acquire()
    first.release()
    assert s3.get(f"reports/2024-06/{LEASE}") is None  # released: deleted
    with StoredLease(bucket, "gameday recover") as second:
        assert second.held and second.previous is None


def test_a_held_lease_is_renewed_and_an_expired_one_taken_over(stored: tuple[S3, Bucket]):
    s3, bucket = stored
    with StoredLease(bucket, "gameday run", ttl=1.0, renew=0.2):
        time.sleep(1.5)  # longer than its TTL: renewed meanwhile, still held
        with pytest.raises(LeaseHeld):
            StoredLease(bucket, "gameday run").acquire()
    dead = {"pid": 4242, "host": "laptop-of-sre-2", "started": time.time() - 600, "command": "gameday run",
            "expires": time.time() - 1}  # fmt: skip
    s3.put(f"reports/2024-06/{LEASE}", json.dumps(dead).encode())  # a holder killed without releasing
    with StoredLease(bucket, "gameday recover") as taken:
        assert taken.previous is not None and (taken.previous.pid, taken.previous.host) == (4242, "laptop-of-sre-2")
        assert json.loads(s3.get(f"reports/2024-06/{LEASE}") or b"{}")["command"] == "gameday recover"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    killed = {**dead, "pid": int(gone), "host": socket.gethostname(), "expires": time.time() + 60}  # not expired yet
    s3.put(f"reports/2024-06/{LEASE}", json.dumps(killed).encode())  # a run of this machine, killed (a power loss)
    with StoredLease(bucket, "gameday recover") as taken:  # its process is gone: no need to wait for the TTL
        assert taken.previous is not None and taken.previous.pid == int(gone)


CATALOG = API_CATALOG.format(timeout="1s")
EXPERIMENT = HARMLESS_EXPERIMENT


def test_two_machines_cannot_run_one_stored_gameday_at_once(aws: AwsSandbox, moto_env: dict[str, str], tmp_path: Path, http_server):
    url, _behaviour = http_server
    s3 = S3(aws.endpoint_url, aws.seed.region, new_bucket_name())
    (tmp_path / "slos.yaml").write_text(CATALOG)
    (tmp_path / "harmless.json").write_text(json.dumps(EXPERIMENT))
    plan = {
        "gameday": "2024-06", "title": "stored", "date": "2024-06-18", "environment": "staging",
        "environment_on_this_host": True, "team": {"commander": "tester"}, "slos": "slos.yaml",
        "monitor": {"interval": "500ms", "baseline": "8s", "cooldown": "1s", "timeout": "1s"},
        "experiments": [{"id": "harmless", "uses": "harmless.json", "hypothesis": ["api"]}],
        "report": {"out": s3.url("reports/2024-06"), "formats": ["json"]},
    }  # fmt: skip
    (tmp_path / "plan.yaml").write_text(json.dumps(plan))
    command = [sys.executable, "-m", "gamedays", "rehearse", str(tmp_path / "plan.yaml"), "--confirm", "staging"]
    machine = {key: value for key, value in moto_env.items() if not key.startswith(("GAMEDAY_", "SANDBOX_"))}
    machine.update(API_URL=url, GAMEDAY_METRICS_PORT="0")
    first = subprocess.Popen(command, env={**machine, "GAMEDAY_HOME": str(tmp_path / "laptop")},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while s3.get(f"reports/2024-06/{LEASE}") is None:
            assert first.poll() is None and time.monotonic() < deadline, "the first machine never took the lease"
            time.sleep(0.1)
        second = subprocess.run(command, env={**machine, "GAMEDAY_HOME": str(tmp_path / "ci-runner")},
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate(timeout=10)
    assert second.returncode == 2, second.stdout[-2000:] + second.stderr[-2000:]
    assert f"this gameday is already in use by gameday rehearse pid {first.pid} on " in second.stderr, second.stderr
    assert not (tmp_path / "ci-runner" / "s3").exists() or not list((tmp_path / "ci-runner").rglob("journal.jsonl"))
    assert first.returncode == 0, out[-2000:] + err[-2000:]
    assert s3.get(f"reports/2024-06/{LEASE}") is None  # released at the end
    assert s3.get("reports/2024-06/rehearsal/journal.jsonl")  # the first machine's rehearsal, stored
