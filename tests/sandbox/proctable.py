"""The process table, read from /proc: to prove that a sandbox leaves nothing behind."""

from __future__ import annotations

from pathlib import Path


def _stat(pid: int) -> tuple[int, str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()
    return int(fields[1]), fields[0]  # parent pid, state


def descendants(root: int) -> set[int]:
    """Every live process under ``root`` (children, grandchildren, ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] != "Z":
                parents[int(entry.name)] = stat[0]
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if (stat := _stat(pid)) is not None and stat[1] != "Z"}


def with_argument(text: str) -> set[int]:
    """Live processes whose command line contains ``text``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if text in cmdline and alive({int(entry.name)}):
                found.add(int(entry.name))
    return found
