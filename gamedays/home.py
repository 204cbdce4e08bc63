"""Where gameday keeps its state on this machine: ``$GAMEDAY_HOME`` (default ``~/.local/state/gameday``).

Below every layer, like :mod:`gamedays.atomicfile`: the sandboxes live in ``sandboxes/``,
the local copies of report folders kept in object storage in ``s3/<bucket>/<prefix>``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping


def home(env: Mapping[str, str] = os.environ) -> Path:
    configured = env.get("GAMEDAY_HOME")
    return Path(configured) if configured else Path.home() / ".local" / "state" / "gameday"


def s3_mirror(bucket: str, prefix: str, env: Mapping[str, str] = os.environ) -> Path:
    """The local working copy of ``s3://bucket/prefix``: the same layout, so sibling gamedays stay siblings."""
    return home(env).joinpath("s3", bucket, *prefix.split("/"))
