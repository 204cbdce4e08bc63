"""Fixtures for the sandbox's PostgreSQL: real clusters on 127.0.0.1, always stopped, checked for leftovers."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from gamedays.sandbox.postgres import PostgresCluster, PostgresSettings
from tests.sandbox.postgres.helpers import MakeCluster, processes_under

CREATE_TIMES = pytest.StashKey[list[float]]()


@pytest.fixture
def make_cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[MakeCluster]:
    """Create clusters in tmp_path; on teardown stop them and prove no process of theirs is left."""
    made: list[PostgresCluster] = []
    runtimes: list[Path] = []

    def make(settings: PostgresSettings | None = None, **kwargs: object) -> PostgresCluster:
        cluster = PostgresCluster(tmp_path / f"cluster{len(made)}", settings=settings, **kwargs)  # type: ignore[arg-type]
        made.append(cluster)
        cluster.create()
        assert cluster.create_seconds is not None and cluster.runtime_dir is not None
        runtimes.append(cluster.runtime_dir)
        request.config.stash.setdefault(CREATE_TIMES, []).append(cluster.create_seconds)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()
    for runtime in runtimes:
        assert processes_under(runtime) == [], f"processes left in {runtime}"
        assert not runtime.exists()


@pytest.fixture
def cluster(make_cluster: MakeCluster) -> PostgresCluster:
    return make_cluster(orphan_grace=2.0)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    times = config.stash.get(CREATE_TIMES, [])
    if times:
        terminalreporter.write_line(
            f"PostgresCluster.create(): {len(times)} runs, min {min(times):.2f}s, "
            f"mean {sum(times) / len(times):.2f}s, max {max(times):.2f}s"
        )

