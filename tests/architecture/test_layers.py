"""The layers of DESIGN.md point downwards, checked by the import-linter contracts in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_import_contracts_hold(repo: Path):
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=repo, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_the_model_does_no_io(repo: Path):
    forbidden = ("open(", "read_text(", "write_text(", "subprocess", "socket", "requests", "import os\n")
    for path in (repo / "gamedays" / "model").glob("*.py"):
        text = path.read_text()
        for word in forbidden:
            assert word not in text, f"{path.name} uses {word!r}: the model layer does no I/O"
