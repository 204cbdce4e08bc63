"""The analysis fields the report adds: who ran the gameday, how each step ended, the per-SLI series."""

from __future__ import annotations

import pytest

from gamedays.journal.io import read_journal
from gamedays.model.events import Mode
from gamedays.model.outcomes import Outcome
from gamedays.reporting.analysis import analyse
from tests.reporting.journals import T0


def analysis_of(make, name):
    return analyse(read_journal(make(name) / "journal.jsonl").events)


def test_the_run_as_the_journal_describes_it(make):
    a = analysis_of(make, "deviated")
    assert (a.gameday, a.date, a.environment, a.plan, a.mode) == ("2024-05", "2024-05-21", "sandbox", "plans/2024-05.yaml", Mode.RUN)
    assert (a.commander, a.scribe, a.participants) == ("alice", "bob", ("carol", "dave"))
    assert (a.interval_seconds, a.budget_allowance, a.tolerate_seconds) == (1.0, 0.01, 2.0)
    assert (a.recorded_outcome, a.recorded_exit_code, a.interrupt_signal) == (Outcome.DEVIATED, 1, None)
    assert a.started == T0 and a.ended == a.finished
    assert [s.slo for s in a.series] == ["checkout-availability", "dns-resolution"]
    checkout = a.series[0]
    assert (checkout.bad, [b.samples for b in checkout.breaches]) == (21, [8, 13])


def test_how_each_step_ended(make):
    pod_kill, db_failover, dns_loss = analysis_of(make, "deviated").steps
    assert (pod_kill.run_outcome, pod_kill.deviated, pod_kill.hypothesis_before, pod_kill.hypothesis_after) == (
        Outcome.DEVIATED, True, True, False)
    assert db_failover.run_outcome is Outcome.PASSED and db_failover.outcome is Outcome.DEVIATED  # recovery too slow
    assert (dns_loss.experiment, dns_loss.hypothesis, dns_loss.ctk_journal) == (
        "experiments/dns-loss.yaml", ("dns-resolution",), "experiments/dns-loss.journal.json")
    assert all(s.rolled_back_by == "experiment" and not s.dry for s in (pod_kill, db_failover, dns_loss))
    assert pod_kill.finished is not None and pod_kill.finished > pod_kill.fault_end


def test_a_guardrail_trip_and_an_interruption(make):
    aborted = analysis_of(make, "aborted").steps[0]
    assert (aborted.guardrail_slo, aborted.guardrail_reason) == ("checkout-availability", "slo_breach")
    assert aborted.breach_started == pytest.approx(T0 + 12.005) and aborted.detected_at == pytest.approx(T0 + 15.005)
    assert aborted.aborted_at - aborted.detected_at == pytest.approx(aborted.detection_to_abort)
    interrupted = analysis_of(make, "interrupted")
    assert interrupted.interrupt_signal == "SIGINT" and interrupted.recorded_exit_code == 3


def test_who_rolled_back_a_crashed_step(make):
    assert analysis_of(make, "crashed").steps[1].rolled_back_by is None
    recovered = analysis_of(make, "recovered")
    assert recovered.steps[1].rolled_back_by == "recover" and recovered.open_faults == ()
    assert analysis_of(make, "rehearsal").steps[0].dry


def test_a_steps_budget_burn_stops_where_the_next_step_starts(make):
    """pod-kill's fault + recover_within reaches into all-pods' breach: that breach is not pod-kill's."""
    pod_kill, all_pods, _ = analysis_of(make, "crashed").steps
    assert pod_kill.fault_end + pod_kill.recover_within > all_pods.started
    assert pod_kill.budget_burned == {"checkout-availability": 0.0}
