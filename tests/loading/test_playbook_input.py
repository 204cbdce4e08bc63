"""Mistakes in a DR playbook: each through `gameday validate`, with the playbook's file:line and what is allowed."""

from __future__ import annotations

from tests.loading.test_bad_input import assert_invalid, validate
from tests.support import line_of

PLAYBOOK = "playbooks/database-cluster.yaml"


def _edit(tree, old: str, new: str) -> None:
    text = (tree.root / PLAYBOOK).read_text()
    assert old in text
    tree.write(PLAYBOOK, text.replace(old, new, 1))
    tree.plan()


def test_a_disaster_without_its_injection_is_refused(tree, gameday):
    text = (tree.root / PLAYBOOK).read_text()
    start = text.index("disaster:")
    end = text.index("rto:")
    tree.write(PLAYBOOK, text[:start] + "disaster: The primary is lost.\n" + text[end:])
    tree.plan()
    line = line_of(tree.root / PLAYBOOK, "disaster: The primary is lost.")
    assert_invalid(validate(gameday), f"playbooks/database-cluster.yaml:{line}: disaster: expected a mapping of keys to values, got 'The primary is lost.'")


def test_an_automated_step_with_an_unknown_function_names_the_step(tree, gameday):
    _edit(tree, "func: promote,", "func: promote_now,")
    result = validate(gameday)
    line = line_of(tree.root / PLAYBOOK, "- name: Promote the replica") + 1  # its `automated:` activity
    assert_invalid(result, f"playbooks/database-cluster.yaml:{line}: The python module 'gamedays.faults.local.postmaster' does not expose a function called 'promote_now' in activity 'promote-replica'")
    assert "promote_now" in result.err


def test_a_step_both_manual_and_automated_is_refused(tree, gameday):
    _edit(tree, "  - name: Promote the replica\n", "  - name: Promote the replica\n    manual: Run pg_ctl promote.\n")
    assert_invalid(validate(gameday), "a step is either automated or manual: give exactly one of the two")


def test_a_dns_writer_needs_a_zone(tree, gameday):
    _edit(tree, 'writer: {kind: postgres, target: "${DATABASE_URL}"}', 'writer: {kind: dns, target: "${SANDBOX_DNS}"}')
    line = line_of(tree.root / PLAYBOOK, "writer: {kind: dns")
    assert_invalid(validate(gameday), f"playbooks/database-cluster.yaml:{line}: writer: a dns writer needs a zone, and only a dns writer takes one")


def test_a_playbook_needs_checks_that_prove_recovery(tree, gameday):
    text = (tree.root / PLAYBOOK).read_text()
    start, end = text.index("checks:"), text.index("afterwards:")
    tree.write(PLAYBOOK, text[:start] + text[end:])
    tree.plan()
    assert_invalid(validate(gameday), "playbooks/database-cluster.yaml:1: missing required key 'checks'")
