"""postmaster.pid, read in one place (gamedays.faults.local.pgserver.PostmasterPid)."""

from __future__ import annotations

from gamedays.faults.local.pgserver import PostmasterPid, lock_pid

READY = "4242\n/var/lib/pg/data\n1733550000\n5433\n/tmp/pg-sockets\n127.0.0.1\n  5433001     32768\nready   \n"


def test_a_ready_servers_file_names_pid_port_hosts_and_status():
    found = PostmasterPid.parse(READY)
    assert (found.pid, found.port, found.socket_dir, found.listen, found.status) == (4242, 5433, "/tmp/pg-sockets", "127.0.0.1", "ready")
    assert found.hosts() == ["/tmp/pg-sockets", "127.0.0.1"]


def test_a_starting_servers_file_has_no_port_yet():
    found = PostmasterPid.parse("4242\n/var/lib/pg/data\n")
    assert (found.pid, found.port, found.status, found.hosts()) == (4242, None, "", [])


def test_wildcard_listen_addresses_are_reached_on_loopback_and_only_the_first_counts():
    assert PostmasterPid.parse("1\nd\n0\n5432\n\n*\n").hosts() == ["127.0.0.1"]
    assert PostmasterPid.parse("1\nd\n0\n5432\n\n0.0.0.0\n").hosts() == ["127.0.0.1"]
    assert PostmasterPid.parse("1\nd\n0\n5432\n\n10.0.0.5,10.0.0.6\n").hosts() == ["10.0.0.5"]


def test_a_single_user_backends_negative_pid_and_garbage(tmp_path):
    assert PostmasterPid.parse("-77\n").pid == 77
    assert PostmasterPid.parse("not a pid\n").pid is None
    assert PostmasterPid.parse("").pid is None
    assert PostmasterPid.of(tmp_path) is None  # no postmaster.pid at all
    (tmp_path / "postmaster.pid").write_text(READY)
    assert PostmasterPid.of(tmp_path) == PostmasterPid.parse(READY)
    assert lock_pid(tmp_path / "postmaster.pid") == 4242
    assert lock_pid(tmp_path / "missing.lock") is None
