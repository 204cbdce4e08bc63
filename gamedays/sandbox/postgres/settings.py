"""The configuration of the sandbox's PostgreSQL servers: small, fast, replicating.

Settings shared by every server of a cluster go into ``postgresql.conf`` at initdb time (and
so travel with ``pg_basebackup`` and ``pg_rewind``, which copy that file); the settings that
differ per server (port, socket folder, cluster_name) are passed on the postgres command line,
so a copied ``postgresql.conf`` can never carry the other server's port.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PostgresSettings:
    """What a gameday may want to tune; everything else is fixed for a sandbox.

    ``max_connections`` includes the ``superuser_reserved_connections``: with the defaults, the
    ``shop`` role gets 47 connections and ``postgres`` the last 3.
    """

    max_connections: int = 50
    superuser_reserved_connections: int = 3
    shared_buffers: str = "16MB"
    superuser: str = "postgres"
    database: str = "shop"
    role: str = "shop"
    extra: tuple[tuple[str, str], ...] = ()
    wal_segment_mb: int | None = None  # initdb --wal-segsize (None: PostgreSQL's 16)

    def __post_init__(self) -> None:
        if self.superuser_reserved_connections < 0:
            raise ValueError("superuser_reserved_connections must be >= 0")
        if self.max_connections <= self.superuser_reserved_connections:
            raise ValueError(
                f"max_connections ({self.max_connections}) must exceed "
                f"superuser_reserved_connections ({self.superuser_reserved_connections})"
            )
        for name in (self.superuser, self.database, self.role):
            if not name.isidentifier() or name.lower() != name:
                raise ValueError(f"{name!r} is not a plain lower-case SQL identifier")

    def parameters(self) -> tuple[tuple[str, str], ...]:
        """(name, value) pairs for ``postgresql.conf``, ``extra`` last so it wins."""
        return (
            ("max_connections", str(self.max_connections)),
            ("superuser_reserved_connections", str(self.superuser_reserved_connections)),
            ("shared_buffers", self.shared_buffers),
            # a sandbox is thrown away: durability against power loss buys nothing and costs time
            ("fsync", "off"),
            # PostgreSQL 18 starts 3 I/O workers per server by default; synchronous I/O saves them
            ("io_method", "sync"),
            ("huge_pages", "off"),
            # streaming replication; pg_rewind needs wal_log_hints (or checksums) and full_page_writes
            ("wal_level", "replica"),
            ("max_wal_senders", "5"),
            ("max_replication_slots", "5"),
            ("wal_keep_size", "64MB"),
            ("hot_standby", "on"),
            ("wal_log_hints", "on"),
            ("full_page_writes", "on"),
            ("min_wal_size", "32MB"),
            ("max_wal_size", "128MB"),
            # a replica notices a restarted primary within a second, and reports lag every second
            ("wal_retrieve_retry_interval", "1s"),
            ("wal_receiver_status_interval", "1s"),
            *self.extra,
        )

    def initdb_options(self) -> list[str]:
        """The ``initdb -c name=value`` options that write :meth:`parameters` into postgresql.conf."""
        options: list[str] = [f"--wal-segsize={self.wal_segment_mb}"] if self.wal_segment_mb else []
        for name, value in self.parameters():
            options += ["-c", f"{name}={value}"]
        return options
