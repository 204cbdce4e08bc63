"""The files a plan needs in the cluster: the plan, its SLO catalog, its experiments and playbooks.

Each at its path relative to the folder holding them all (so the plan's relative references
still resolve once they are copied into the Job's working directory).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gamedays.model.loaded import LoadedPlan


@dataclass(frozen=True)
class Bundle:
    plan: str  # the plan's path, relative
    files: tuple[tuple[str, str], ...]  # (relative path, text), sorted


def bundle(loaded: LoadedPlan) -> Bundle:
    paths = {loaded.path, loaded.catalog_path}
    paths.update(s.experiment_path for s in loaded.steps)
    paths.update(d.playbook_path for d in loaded.disaster_recovery)
    root = Path(os.path.commonpath([p.resolve().parent for p in paths]))
    files = tuple(sorted((p.resolve().relative_to(root).as_posix(), p.read_text(encoding="utf-8")) for p in paths))
    return Bundle(plan=loaded.path.resolve().relative_to(root).as_posix(), files=files)
