"""A sandbox whose owner died stops itself (gamedays.sandbox.ownerwatch): nothing it started is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from tests.sandbox.proctable import alive, descendants


def test_a_sandbox_whose_owner_is_sigkilled_stops_everything_it_started(tmp_path):
    env = {**os.environ, "GAMEDAY_HOME": str(tmp_path / "home")}
    env.pop("GAMEDAY_SANDBOX", None)
    owner = subprocess.Popen(
        [sys.executable, "-m", "gamedays", "sandbox", "up", "--name", "orphan", "--replicas", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = owner.stdout.readline()
            lines.append(line)
            if "is up in" in line or not line:
                break
        assert any("is up in" in line for line in lines), "".join(lines)
        while not any(line.startswith("export SHOP_URL=") for line in lines):
            lines.append(owner.stdout.readline())
        shop = next(line for line in lines if line.startswith("export SHOP_URL=")).split("=", 1)[1].strip().strip("'")
        started = descendants(owner.pid)
        assert len(started) >= 6  # the watch, moto, two PostgreSQL servers (and backends), the balancer, 2 replicas
        with urllib.request.urlopen(shop + "/-/healthz", timeout=5) as answer:
            assert answer.status == 200

        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        deadline = time.monotonic() + 60
        while alive(started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(started), f"left running: {sorted(alive(started))}"
        try:
            urllib.request.urlopen(shop + "/-/healthz", timeout=2)
        except OSError:
            pass
        else:
            raise AssertionError(f"the shop still answers at {shop}")
        assert not (tmp_path / "home" / "sandboxes" / "orphan").exists()
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(10)
