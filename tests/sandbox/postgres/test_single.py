"""single_server: one server alone, set up as the cluster's primary, and nothing left after it."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from gamedays.model.errors import SandboxError
from gamedays import processes
from gamedays.sandbox.ports import LOOPBACK
from gamedays.sandbox.postgres import single_server
from tests.sandbox.postgres.helpers import connect, processes_under


def test_a_single_server_has_the_shop_database_and_leaves_nothing(tmp_path: Path) -> None:
    with single_server(tmp_path, name="solo") as server:
        runtime, pid = server.folder.parent, server.postmaster_pid()
        assert pid is not None and not server.is_in_recovery()
        with connect(server.conninfo("shop", "shop")) as conn:
            conn.execute("CREATE TABLE t (v text)")
            conn.execute("INSERT INTO t VALUES ('x')")
            assert conn.execute("SELECT v FROM t").fetchall() == [("x",)]
            addresses = conn.execute("SHOW listen_addresses").fetchone()
        assert addresses == (LOOPBACK,)
    assert processes.wait_gone([pid], 5.0)
    assert processes_under(runtime) == []
    assert not runtime.exists()
    assert (tmp_path / "postgres-solo.log").is_file()  # the logs stay


def test_a_port_in_use_fails_with_a_clear_error_and_removes_the_data(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        with pytest.raises(SandboxError, match=rf"PostgreSQL server pg1 cannot listen on 127.0.0.1:{taken}: the port is in use"):
            with single_server(tmp_path, port=taken):
                pytest.fail("the server started on a taken port")
    found = re.search(r"-D (\S+)/pg1/data", (tmp_path / "postgres-setup.log").read_text())  # initdb's command line
    assert found is not None
    runtime = Path(found.group(1))
    assert processes_under(runtime) == []
    assert not runtime.exists()
