"""The DR checks' analysis: RTO and RPO against their targets, the steps, aborted and skipped checks, the exit code."""

from __future__ import annotations

import pytest

from gamedays.journal.io import read_journal
from gamedays.model.dr import DROutcome, DRPhase, DRStepKind, DRStepOutcome
from gamedays.model.events import DRFinished, DRStarted, DRStepDone, DRWrites, Interrupted
from gamedays.model.outcomes import ExitCode, Outcome
from gamedays.reporting.analysis import analyse
from tests.reporting.journals import DR_DB, DR_DNS, T0, Bad, DRStep, Gameday, dr_check, dr_info, info


def analysis_of(make, name):
    return analyse(read_journal(make(name) / "journal.jsonl").events)


def checks_of(analysis):
    return {c.id: c for c in analysis.disaster_recovery}


def test_rto_rpo_and_outcome_of_each_check(make):
    a = analysis_of(make, "dr")
    checks = checks_of(a)
    assert list(checks) == ["database-cluster", "dns", "kubernetes-cluster", "database-cluster-2"]

    db = checks["database-cluster"]
    assert db.outcome is DROutcome.RECOVERED and not db.dry
    assert db.rto == pytest.approx(19.93, abs=0.01) and db.rto_target == 60.0 and db.rto_met is True
    assert (db.rpo, db.rpo_target, db.rpo_met) == (0.0, 5.0, True)
    assert (db.writer, db.writes_acknowledged, db.writes_lost) == ("postgres", 240, 0)
    assert db.failed_step is None and db.recovered_at - db.disaster_at == pytest.approx(db.rto)
    assert [(s.phase, s.name) for s in db.steps] == [
        (DRPhase.BACKUP, "base backup"), (DRPhase.DISASTER, "kill the primary"), (DRPhase.STEP, "promote the replica"),
        (DRPhase.STEP, "move the DNS record"), (DRPhase.CHECK, "orders readable"), (DRPhase.AFTERWARDS, "rebuild the replica"),
    ]
    promote = db.steps[2]
    assert promote.kind is DRStepKind.AUTOMATED and promote.outcome is DRStepOutcome.PASSED
    assert promote.ended - promote.started == pytest.approx(10.0) and promote.journal == "dr/database-cluster/promote.journal.json"
    assert (db.playbook, db.component_kind, db.component) == ("playbooks/database-cluster.yaml", "database-cluster", "shop-db")

    dns = checks["dns"]  # 44.5 s against 30 s: missed; its manual step is not verified, never passed
    assert dns.outcome is DROutcome.MISSED_TARGET and dns.rto_met is False and dns.rto == pytest.approx(44.53, abs=0.01)
    assert (dns.rpo, dns.rpo_met, dns.writer, dns.writes_lost) == (None, None, None, None)
    manual = next(s for s in dns.steps if s.kind is DRStepKind.MANUAL)
    assert manual.outcome is DRStepOutcome.NOT_VERIFIED

    k8s = checks["kubernetes-cluster"]
    assert k8s.outcome is DROutcome.FAILED and k8s.failed_step == "apply the manifest backup"
    assert (k8s.rto, k8s.rto_met, k8s.recovered_at) == (None, False, None) and k8s.disaster_at is not None
    assert "left as it was after the failure" in k8s.detail

    restore = checks["database-cluster-2"]  # recovered in time, but lost 8 s of writes against an RPO of 5 s
    assert restore.outcome is DROutcome.MISSED_TARGET and restore.rto_met is True
    assert restore.rpo == pytest.approx(8.0) and restore.rpo_met is False
    assert (restore.writes_acknowledged, restore.writes_lost) == (300, 12)

    assert a.outcome is Outcome.DEVIATED and a.exit_code is ExitCode.FINDINGS
    assert [c.playbooks for c in a.coverage] == [("database-cluster", "database-cluster-2"), ("dns",), ("kubernetes-cluster",), ()]


def test_a_check_never_finished_is_aborted_and_one_never_started_is_skipped(make):
    a = analysis_of(make, "dr-crashed")
    checks = checks_of(a)
    db, dns = checks["database-cluster"], checks["dns"]
    assert db.outcome is DROutcome.ABORTED and db.finished is None and db.started is not None
    assert db.detail == "started but never finished: the run ended during the check"
    assert len(db.steps) == 3 and (db.rto, db.rto_met, db.rpo) == (None, None, None)
    assert dns.outcome is DROutcome.SKIPPED and dns.steps == () and dns.started is None
    assert dns.detail == "never started: the run ended before this check"
    assert not a.complete


def test_a_rehearsal_check_is_ready_with_nothing_measured(make):
    a = analysis_of(make, "dr-rehearsal")
    for check in a.disaster_recovery:
        assert check.outcome is DROutcome.READY and check.dry
        assert (check.rto, check.rto_met, check.rpo, check.rpo_met, check.disaster_at) == (None, None, None, None, None)
        assert {s.phase for s in check.steps} == {DRPhase.PRECHECK}
    assert a.outcome is Outcome.PASSED and a.exit_code is ExitCode.OK


def gameday_with(check_events, *, dr=(DR_DB,), finish=True):
    gd = Gameday([info("pod-kill")], disaster_recovery=dr)
    nxt = gd.step("pod-kill", 11.0, 2.0)
    end = check_events(gd, nxt)
    if finish:
        gd.finish(end + 1.0, Outcome.PASSED, 0)
    return analyse(gd.events)


def recovery(seconds: float, outcome=DRStepOutcome.PASSED, kind=DRStepKind.AUTOMATED) -> list[DRStep]:
    return [DRStep(DRPhase.DISASTER, "kill the primary", 0.5), DRStep(DRPhase.STEP, "promote", seconds, outcome, kind),
            DRStep(DRPhase.CHECK, "orders readable", 0.5)]


def test_a_missed_rto_alone_makes_the_gameday_a_finding_exit_1():
    a = gameday_with(lambda gd, t: dr_check(gd, "database-cluster", t, recovery(90.0), writes=(100, 0, None)))
    check = a.disaster_recovery[0]
    assert check.outcome is DROutcome.MISSED_TARGET and check.rto_met is False and check.rpo_met is True
    assert [s.outcome for s in a.steps] == [Outcome.PASSED]
    assert a.outcome is Outcome.DEVIATED and a.exit_code is ExitCode.FINDINGS


def test_a_recovery_within_both_targets_passes_the_gameday():
    a = gameday_with(lambda gd, t: dr_check(gd, "database-cluster", t, recovery(10.0), writes=(100, 0, None)))
    assert a.disaster_recovery[0].outcome is DROutcome.RECOVERED
    assert a.outcome is Outcome.PASSED and a.exit_code is ExitCode.OK


def test_an_unverified_manual_step_is_a_finding_not_a_pass():
    a = gameday_with(lambda gd, t: dr_check(gd, "database-cluster", t, recovery(5.0, DRStepOutcome.NOT_VERIFIED, DRStepKind.MANUAL)))
    assert a.disaster_recovery[0].outcome is DROutcome.NOT_VERIFIED
    assert a.exit_code is ExitCode.FINDINGS


@pytest.mark.parametrize(
    "lost, first_lost, rpo",
    [
        (0, None, 0.0),  # nothing lost
        (3, -2.5, 2.5),  # the first lost write was acknowledged 2.5 s before the disaster
        (3, 4.0, 0.0),  # only writes after the disaster were lost: the window is clamped at 0
    ],
)
def test_rpo_is_the_window_from_the_first_lost_write_to_the_disaster(lost, first_lost, rpo):
    a = gameday_with(lambda gd, t: dr_check(gd, "database-cluster", t, recovery(5.0), writes=(50, lost, first_lost)))
    check = a.disaster_recovery[0]
    assert check.rpo == pytest.approx(rpo) and check.writes_lost == lost and check.writes_acknowledged == 50
    assert check.rpo_met is (rpo <= 5.0)


def test_a_writer_that_could_not_read_back_leaves_the_rpo_unmeasured():
    a = gameday_with(lambda gd, t: dr_check(gd, "database-cluster", t, recovery(5.0), writer_error="connection refused"))
    check = a.disaster_recovery[0]
    assert (check.rpo, check.rpo_met, check.writes_lost, check.writes_acknowledged) == (None, None, None, None)
    assert check.writer_error == "connection refused" and check.outcome is DROutcome.RECOVERED


def test_a_check_interrupted_while_running_is_aborted_even_when_it_finished():
    def events(gd, t):
        gd.add(DRStarted(at=T0 + t, check="database-cluster"))
        gd.add(DRStepDone(at=T0 + t + 1, check="database-cluster", phase=DRPhase.DISASTER, name="kill", kind=DRStepKind.AUTOMATED,
                          started=T0 + t, outcome=DRStepOutcome.PASSED))
        gd.add(Interrupted(at=T0 + t + 2, signal="SIGINT"))
        gd.add(DRWrites(at=T0 + t + 2.5, check="database-cluster", writer="postgres", acknowledged=10, lost=0))
        gd.add(DRFinished(at=T0 + t + 3, check="database-cluster", disaster_at=T0 + t + 1, recovered_at=None,
                          detail="interrupted by SIGINT"))
        return t + 3

    a = gameday_with(events)
    assert a.disaster_recovery[0].outcome is DROutcome.ABORTED and a.disaster_recovery[0].detail == "interrupted by SIGINT"
    assert a.outcome is Outcome.ABORTED and a.exit_code is ExitCode.ABORTED


def test_the_fault_window_of_an_experiment_ends_where_a_dr_check_begins():
    """Bad samples caused by a later DR disaster are not the experiment's: it recovered in time."""
    gd = Gameday([info("pod-kill")], disaster_recovery=(DR_DB,))
    nxt = gd.step("pod-kill", 11.0, 2.0, recover=1.0)
    gd.bad.append(Bad("checkout-availability", nxt + 1.0, nxt + 20.0))
    end = dr_check(gd, "database-cluster", nxt, recovery(18.0), writes=(10, 0, None))
    gd.finish(end, Outcome.PASSED, 0)
    a = analyse([*gd.events, *gd.sampled(end)])
    step = a.steps[0]
    assert step.time_to_detect is None and step.recovered_in_time is True and step.outcome is Outcome.PASSED
    assert step.budget_burned == {"checkout-availability": 0.0}


def test_checks_follow_the_plans_order_and_a_second_use_of_a_playbook_is_its_own_check():
    twice = dr_info("database-cluster-2", title="again")

    def events(gd, t):
        t = dr_check(gd, "database-cluster-2", t, recovery(5.0))
        return dr_check(gd, "database-cluster", t, recovery(100.0))

    a = gameday_with(events, dr=(DR_DB, twice, DR_DNS))
    assert [(c.id, c.outcome) for c in a.disaster_recovery] == [
        ("database-cluster", DROutcome.MISSED_TARGET), ("database-cluster-2", DROutcome.RECOVERED), ("dns", DROutcome.SKIPPED),
    ]
