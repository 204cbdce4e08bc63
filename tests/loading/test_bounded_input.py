"""Input read within bounds: each refusal through `gameday validate`, with file:line and what is allowed."""

from __future__ import annotations

import os

import pytest

from tests.loading.test_bad_input import assert_invalid, validate
from tests.support import VALID_PLAN

ALLOWED = "allowed: a regular file of at most 1 MiB, nested at most 50 deep, with at most 100 aliases"


def alias_bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def test_a_fifo_named_as_the_slo_catalog_is_refused_without_blocking(tree, gameday):
    os.mkfifo(tree.root / "probes" / "pipe.yaml")
    tree.plan(VALID_PLAN.replace("../probes/slos.yaml", "../probes/pipe.yaml"))
    assert_invalid(validate(gameday), f"plans/p.yaml:9: cannot read probes/pipe.yaml: a FIFO (named pipe), not a regular file; {ALLOWED}")


def test_a_fifo_named_as_an_experiment_is_refused(tree, gameday):
    os.mkfifo(tree.root / "experiments" / "pipe.yaml")
    tree.plan(VALID_PLAN.replace("kubernetes/pod-kill.yaml", "pipe.yaml"))
    assert_invalid(validate(gameday), "plans/p.yaml:14: cannot read experiments/pipe.yaml: a FIFO (named pipe), not a regular file;")


def test_a_device_is_refused(tree, gameday):
    tree.plan(VALID_PLAN.replace("../probes/slos.yaml", "/dev/zero"))
    assert_invalid(validate(gameday), f"plans/p.yaml:9: cannot read /dev/zero: a device, not a regular file; {ALLOWED}")


def test_a_file_over_one_mebibyte_is_refused_at_the_line_past_the_limit(tree, gameday):
    tree.write("probes/big.yaml", "# padding\n" * 120_000)
    tree.plan(VALID_PLAN.replace("../probes/slos.yaml", "../probes/big.yaml"))
    assert_invalid(validate(gameday), f"probes/big.yaml:104858: the file is larger than 1 MiB (1048576 bytes); {ALLOWED}")


def test_deep_nesting_is_refused(tree, gameday):
    tree.plan(VALID_PLAN + "\nreport: " + "[" * 5000 + "]" * 5000 + "\n")
    assert_invalid(validate(gameday), f"plans/p.yaml:21: nested more than 50 deep; {ALLOWED}")


def test_an_alias_bomb_is_refused(tree, gameday):
    tree.write("playbooks/bomb.yaml", alias_bomb())
    tree.plan(VALID_PLAN.replace("database-cluster.yaml", "bomb.yaml"))
    assert_invalid(validate(gameday), f"playbooks/bomb.yaml:5: its aliases expand to more than 100000 values; {ALLOWED}")


def test_too_many_aliases_are_refused(tree, gameday):
    tree.write("probes/aliases.yaml", "a: &a x\nb: [" + ", ".join(["*a"] * 101) + "]\n")
    tree.plan(VALID_PLAN.replace("../probes/slos.yaml", "../probes/aliases.yaml"))
    assert_invalid(validate(gameday), f"probes/aliases.yaml:2: more than 100 aliases; {ALLOWED}")


def test_an_alias_bomb_in_an_experiment_is_refused_before_chaoslib_reads_it(tree, gameday):
    tree.write("experiments/bomb.yaml", alias_bomb())
    tree.plan(VALID_PLAN.replace("kubernetes/pod-kill.yaml", "bomb.yaml"))
    assert_invalid(validate(gameday), "experiments/bomb.yaml:5: its aliases expand to more than 100000 values;")


def test_deep_json_in_an_experiment_is_refused(tree, gameday):
    tree.write("experiments/deep.json", '{"title": "t",\n "x": ' + "[" * 3000 + "]" * 3000 + "}\n")
    tree.plan(VALID_PLAN.replace("kubernetes/pod-kill.yaml", "deep.json"))
    assert_invalid(validate(gameday), f"experiments/deep.json:2: nested more than 50 deep; {ALLOWED}")


def test_a_date_that_does_not_exist_is_refused(tree, gameday):
    tree.plan(VALID_PLAN.replace("date: 2024-05-21", "date: 2024-02-30"))
    assert_invalid(
        validate(gameday),
        "plans/p.yaml:3: '2024-02-30' is not a date that exists (day is out of range for month); "
        "allowed: a real date such as 2024-05-21",
    )


def test_undecodable_bytes_are_refused_at_their_line(tree, gameday):
    path = tree.plan()
    path.write_bytes(path.read_bytes().replace(b"May 2024", b"May \xff2024"))
    assert_invalid(validate(gameday), "plans/p.yaml:2: byte 0xff is not UTF-8 text: allowed: a file encoded in UTF-8")


def test_a_control_character_is_refused_at_its_line_not_its_offset(tree, gameday):
    tree.plan(VALID_PLAN.replace("sre-oncall", "sre-\x00oncall"))
    result = validate(gameday)
    assert_invalid(result, "plans/p.yaml:8: invalid YAML: character #x0000 is not allowed in YAML text")
    assert "position" not in result.err


def test_a_symlink_loop_is_refused(tree, gameday):
    os.symlink("loop-b.yaml", tree.root / "playbooks" / "loop-a.yaml")
    os.symlink("loop-a.yaml", tree.root / "playbooks" / "loop-b.yaml")
    tree.plan(VALID_PLAN.replace("database-cluster.yaml", "loop-a.yaml"))
    assert_invalid(validate(gameday), "plans/p.yaml:19: cannot read ../playbooks/loop-a.yaml:", "(a symlink loop)")


def test_a_fifo_as_the_plan_itself_is_refused(tree, gameday):
    os.mkfifo(tree.root / "plans" / "fifo.yaml")
    assert_invalid(validate(gameday, "plans/fifo.yaml"), "plans/fifo.yaml:1: cannot read plans/fifo.yaml: a FIFO (named pipe), not a regular file;")


@pytest.mark.parametrize("scalar", ["._", "-._", "0x_", "0b_", "+_"])
def test_a_scalar_that_only_looks_like_a_number_stays_text(tree, gameday, scalar):
    tree.plan(VALID_PLAN.replace('title: "May 2024"', f"title: {scalar}"))
    result = validate(gameday)
    assert result.code == 0, result.err


@pytest.mark.parametrize("scalar", ["._", "0x_"])
def test_such_a_scalar_where_a_duration_goes_is_a_bad_duration(tree, gameday, scalar):
    tree.plan(VALID_PLAN.replace("recover_within: 30s", f"recover_within: {scalar}"))
    assert_invalid(
        validate(gameday),
        f"plans/p.yaml:17: experiments[0].recover_within: bad duration '{scalar}': use a number with a unit",
    )
