"""`report.out` names a folder gameday may fill: never a system folder, $HOME, or someone else's files.

Each refusal goes through the real CLI (`gameday validate`, and `gameday run`, which
refuses before anything starts) with file:line of `report.out` (of `gameday:` for
the default folder) and what is allowed.
"""

from __future__ import annotations

import pytest

from tests.loading.test_bad_input import assert_invalid, validate
from tests.support import VALID_PLAN, line_of

ALLOWED = "allowed: an absent or empty folder, or one holding only what gameday writes there (journal*.jsonl, report.*"


def plan_out(tree, out: str) -> str:
    text = VALID_PLAN + f"report:\n  out: {out}\n"
    tree.plan(text)
    return text


@pytest.mark.parametrize("out", ["/", "/etc", "/usr", "/var", "/bin", "/lib", "/proc/self", "/dev/shm"])
def test_a_system_folder_is_refused(tree, gameday, out):
    text = plan_out(tree, out)
    assert_invalid(
        validate(gameday),
        f"plans/p.yaml:{line_of(text, 'out:')}: report.out: '{out}' (",
        f"is a system folder; {ALLOWED}",
    )


def test_home_itself_is_refused(tree, gameday, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    text = plan_out(tree, str(home))
    assert_invalid(
        validate(gameday),
        f"plans/p.yaml:{line_of(text, 'out:')}: report.out: '{home}' ({home}) is your home folder itself; {ALLOWED}",
    )


def test_a_folder_holding_other_files_is_refused(tree, gameday):
    text = plan_out(tree, "../probes")
    assert_invalid(
        validate(gameday),
        f"plans/p.yaml:{line_of(text, 'out:')}: report.out: '../probes' ({tree.root / 'probes'}) is a folder holding "
        "files gameday did not write (slos.yaml",
        ALLOWED,
    )


def test_a_file_is_refused(tree, gameday):
    text = plan_out(tree, "../probes/slos.yaml")
    assert_invalid(validate(gameday), f"plans/p.yaml:{line_of(text, 'out:')}: report.out: '../probes/slos.yaml' (", "is not a folder;")


def test_the_default_folder_is_checked_at_the_gameday_line(tree, gameday):
    folder = tree.root / "reports" / "2024-05"
    folder.mkdir(parents=True)
    (folder / "holiday.jpg").write_bytes(b"\xff\xd8")
    tree.plan()
    assert_invalid(
        validate(gameday),
        f"plans/p.yaml:{line_of(VALID_PLAN, 'gameday:')}: report.out: '../reports/2024-05' ({folder}) is a folder "
        "holding files gameday did not write (holiday.jpg);",
    )


def test_a_folder_of_an_earlier_run_is_allowed(tree, gameday):
    folder = tree.root / "out"
    for name in ("journal.jsonl", "journal.20240521T101010Z.jsonl", "report.html", "report.json", "junit.xml",
                 "actions.yaml", "notes.jsonl", "tracker.json", "gameday.log", "run.lock"):
        tree.write(f"out/{name}", "x\n")
    for sub in ("experiments", "dr", "rehearsal"):
        (folder / sub).mkdir()
    tree.write("out/experiments/api-pod-loss.log", "x\n")
    plan_out(tree, "../out")
    result = validate(gameday)
    assert result.code == 0, result.err


def test_an_empty_or_absent_folder_is_allowed(tree, gameday):
    (tree.root / "empty").mkdir()
    plan_out(tree, "../empty")
    assert validate(gameday).code == 0
    plan_out(tree, "../absent/2024-05")
    assert validate(gameday).code == 0


def test_run_refuses_it_before_anything_starts(tree, gameday):
    text = plan_out(tree, "/")
    result = gameday("run", "plans/p.yaml")
    assert "Traceback" not in result.err + result.out
    assert_invalid(result, f"plans/p.yaml:{line_of(text, 'out:')}: report.out: '/' (/) is a system folder;")
