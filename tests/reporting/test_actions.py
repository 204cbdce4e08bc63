"""Follow-up actions: one per finding, with the evidence, an owner and a stable id; actions.md lists them."""

from __future__ import annotations

import hashlib
import json
import re

from gamedays.model.outcomes import Outcome
from gamedays.reporting.actions import ActionKind, action_id
from gamedays.reporting.render import render_report
from tests.reporting.journals import Gameday, info


def rendered_actions(make, name, folder=None):
    where = make(name, folder)
    rendered = render_report(where)
    return rendered.report.actions, (where / "actions.md").read_text(encoding="utf-8"), where


def kinds(actions):
    return [(a.kind.value, a.subject) for a in actions]


def test_the_id_is_a_hash_of_kind_and_subject():
    expected = "GD-" + hashlib.sha256(b"recovery-missed\x00db-failover").hexdigest()[:10]
    assert action_id(ActionKind.RECOVERY_MISSED, "db-failover") == expected
    assert action_id(ActionKind.STEP_DEVIATED, "db-failover") != expected
    assert re.fullmatch(r"GD-[0-9a-f]{10}", expected)


def test_a_deviated_gameday_calls_for_an_action_per_finding(make):
    actions, text, _ = rendered_actions(make, "deviated")
    assert kinds(actions) == [
        ("step-deviated", "pod-kill"),
        ("recovery-missed", "db-failover"),
        ("step-deviated", "dns-loss"),
        ("recovery-missed", "dns-loss"),
        ("budget-overspent", "checkout-availability"),
        ("budget-overspent", "dns-resolution"),
    ]
    assert all(a.id == action_id(a.kind, a.subject) for a in actions)
    by = {(a.kind.value, a.subject): a for a in actions}
    late = by["recovery-missed", "db-failover"]
    assert re.fullmatch(r"checkout-availability recovered 11\.\ds after the fault ended; recover_within is 5\.0s", late.why)
    assert late.owner_role == "commander" and late.owner == "alice"
    dns = by["budget-overspent", "dns-resolution"]
    assert dns.why.startswith("dns-resolution (dns, objective 99.99% over 30d) burned 15.43% of its error budget, "
                              "more than the plan's allowance of 1.00%; 40 of ")
    assert dns.owner_role == "service owner (dns)" and dns.owner == "alice"  # the commander: the plan names no other owner
    deviated = by["step-deviated", "pod-kill"]
    assert "steady state not met after the method" in deviated.why and "first bad sample 0.69s after the fault started" in deviated.why
    # actions.md: a section per action, headed by its id
    headings = re.findall(r"^## (GD-[0-9a-f]{10}): ", text, re.M)
    assert headings == [a.id for a in actions]
    assert "6 actions." in text and "- Suggested owner: service owner (dns)\n" in text
    assert "- Why: checkout-availability recovered 11." in text


def test_ids_are_stable_across_renders_and_gamedays(make, tmp_path):
    first, _, _ = rendered_actions(make, "deviated", "may")
    again, _, _ = rendered_actions(make, "deviated", "may-again")
    assert [a.id for a in first] == [a.id for a in again]
    gd = Gameday([info("pod-kill")], title="June: another gameday")  # the same weakness, another month
    gd.events[0] = gd.events[0].model_copy(update={"gameday": "2024-06"})
    end = gd.step("pod-kill", 11.0, 4.0, outcome=Outcome.DEVIATED, deviated=True, after_met=False)
    gd.write(tmp_path / "june", end)
    june = render_report(tmp_path / "june").report.actions
    step = next(a for a in june if a.kind is ActionKind.STEP_DEVIATED)
    assert step.id == next(a.id for a in first if a.kind is ActionKind.STEP_DEVIATED and a.subject == "pod-kill")
    incomplete = next(a for a in june if a.kind is ActionKind.RUN_INCOMPLETE)  # june's journal was left unfinished
    assert incomplete.subject == "2024-06"


def test_a_crash_leaves_an_open_fault_to_roll_back_first(make):
    actions, text, _ = rendered_actions(make, "crashed")
    assert kinds(actions) == [("open-fault", "all-pods"), ("run-incomplete", "2024-05"), ("step-unfinished", "all-pods")]
    assert "run `gameday recover` on this report folder" in actions[0].why
    assert actions[1].why.endswith("unfinished: all-pods; never started: dns-loss")
    actions, _, _ = rendered_actions(make, "recovered")  # after `gameday recover` no fault is open
    assert kinds(actions) == [("run-incomplete", "2024-05"), ("step-unfinished", "all-pods")]


def test_an_interrupted_run_and_a_guardrail_abort(make):
    actions, _, _ = rendered_actions(make, "interrupted")
    assert kinds(actions) == [("run-interrupted", "2024-05"), ("step-aborted", "all-pods")]
    assert actions[0].why == "the run was interrupted by SIGINT; not run: pod-kill"
    assert actions[1].title == "all-pods: interrupted — run it again"
    actions, _, _ = rendered_actions(make, "aborted")
    assert kinds(actions) == [("step-aborted", "all-pods")]
    assert actions[0].title == "all-pods: aborted by the guardrails — limit the blast radius of this failure"
    assert "guardrail tripped on checkout-availability (slo_breach)" in actions[0].why
    assert "detection to abort 0.10s" in actions[0].why


def test_nothing_to_do_after_a_clean_gameday_or_a_rehearsal(make):
    for name in ("passing", "rehearsal"):
        actions, text, _ = rendered_actions(make, name)
        assert actions == ()
        assert "No follow-up action: every hypothesis held" in text


def test_the_actions_in_every_rendering_agree(make):
    actions, text, folder = rendered_actions(make, "deviated")
    ids = [a.id for a in actions]
    assert [a["id"] for a in json.loads((folder / "report.json").read_text())["actions"]] == ids
    html = (folder / "report.html").read_text()
    assert re.findall(r'<tr id="(GD-[0-9a-f]{10})">', html) == ids
    md = (folder / "report.md").read_text()
    assert re.findall(r"^\| (GD-[0-9a-f]{10}) \|", md, re.M) == ids


def test_the_plan_names_owners_by_subject_component_or_service(tmp_path):
    """team.owners: an entry for the subject wins, then one for the component (name or kind); the commander owns the rest."""
    from tests.reporting.journals import disaster_recovery

    owners = {"dns": "dns-team", "database-cluster": "dba-team", "orders-queue": "queue-team"}
    rendered = render_report(disaster_recovery(tmp_path / "r", owners=owners).parent)
    by_subject = {(a.kind.value, a.subject): a.owner for a in rendered.report.actions}
    assert by_subject[("rto-missed", "dns")] == "dns-team"  # the DR check's id
    assert by_subject[("rpo-missed", "database-cluster-2")] == "dba-team"  # its component's kind
    assert by_subject[("no-dr-playbook", "message-queue/orders-queue")] == "queue-team"  # the component's name
    assert by_subject[("dr-failed", "kubernetes-cluster")] == "alice"  # nobody named: the commander
    roles = {a.subject: a.owner_role for a in rendered.report.actions}
    assert roles["dns"] == "owner named by the plan (team.owners)"
