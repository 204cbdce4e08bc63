"""The fold over a journal's events: one at a time equals all at once, and its figures are the events' own."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from gamedays.journal.state import GamedayState, burned_by, fold
from gamedays.model.dr import DRPhase, DRStepKind, DRStepOutcome
from gamedays.model.events import (
    DRFinished,
    DRInfo,
    DRStarted,
    DRStepDone,
    DRStepInfo,
    DRWrites,
    ExperimentProgress,
    FaultArmed,
    GamedayFinished,
    GamedayStarted,
    GuardrailTripped,
    Interrupted,
    Mode,
    NotificationFailed,
    PhaseStarted,
    RollbacksPlayed,
    SampleTaken,
    SamplingBehind,
    SLOInfo,
    StepFinished,
    StepInfo,
    StepStarted,
)
from gamedays.model.outcomes import Outcome

SLOS = (
    SLOInfo(name="checkout", service="shop", kind="availability", objective=0.999, window_seconds=86400.0, source="http"),
    SLOInfo(name="dns", service="dns", kind="availability", objective=0.99, window_seconds=3600.0, source="dns"),
)
STEPS = ("pod-kill", "db-failover")
CHECK = "database-cluster"
START = GamedayStarted(
    at=0.0, gameday="2024-05", title="May", date="2024-05-21", plan="plans/2024-05.yaml", environment="sandbox",
    mode=Mode.RUN, commander="ana", slos=SLOS,
    steps=tuple(StepInfo(id=s, title=s, experiment=f"{s}.yaml", hypothesis=("checkout",), recover_within_seconds=30.0) for s in STEPS),
    interval_seconds=1.0, budget_allowance=0.1,
    disaster_recovery=(DRInfo(id=CHECK, title="db", playbook="p.yaml", component_kind="database-cluster", component="shop-db",
                              disaster="primary lost", rto_seconds=60.0, rpo_seconds=5.0,
                              steps=(DRStepInfo(name="promote", kind=DRStepKind.AUTOMATED),)),),
)

at = st.floats(min_value=0.0, max_value=600.0, allow_nan=False)
slo = st.sampled_from(["checkout", "dns", "not-in-the-plan"])
step = st.sampled_from([*STEPS, "not-in-the-plan"])
check = st.sampled_from([CHECK, "other-check"])
outcome = st.sampled_from(list(Outcome))

events = st.one_of(
    st.builds(SampleTaken, at=at, slo=slo, good=st.booleans(), value=st.none() | st.floats(0, 5)),
    st.builds(SampleTaken, at=at, slo=slo, good=st.booleans()),  # twice as many samples as anything else
    st.builds(SamplingBehind, at=at, slo=slo, skipped=st.integers(1, 5), first_skipped=at),
    st.builds(PhaseStarted, at=at, phase=st.sampled_from(["baseline", "cooldown", "recovery"]), step=st.none() | step, seconds=at),
    st.builds(StepStarted, at=at, step=step),
    st.builds(FaultArmed, at=at, step=step, experiment_path=st.just("e.yaml"), experiment=st.just({}),
              configuration=st.just({}), dry=st.booleans()),
    st.builds(ExperimentProgress, at=at, step=step, kind=st.sampled_from(
        ["started", "hypothesis_before", "method_started", "method_completed", "hypothesis_after",
         "rollbacks_started", "rollbacks_completed", "finished"]), met=st.none() | st.booleans()),
    st.builds(GuardrailTripped, at=at, step=st.none() | step, reason=st.just("slo_breach"), slo=slo,
              breach_started=at, detected_at=at, detail=st.just("breach")),
    st.builds(RollbacksPlayed, at=at, step=step, by=st.sampled_from(["engine", "recover", "experiment"]), succeeded=st.booleans()),
    st.builds(StepFinished, at=at, step=step, outcome=outcome, ctk_status=st.just("completed"), deviated=st.booleans(),
              journal=st.just("")),
    st.builds(DRStarted, at=at, check=check, dry=st.booleans()),
    st.builds(DRStepDone, at=at, check=check, phase=st.sampled_from(list(DRPhase)), name=st.just("promote"),
              kind=st.just(DRStepKind.AUTOMATED), started=at, outcome=st.sampled_from(list(DRStepOutcome))),
    st.builds(DRWrites, at=at, check=check, writer=st.just("postgres"), acknowledged=st.integers(0, 9), lost=st.integers(0, 9)),
    st.builds(DRFinished, at=at, check=check, disaster_at=st.none() | at, recovered_at=st.none() | at),
    st.builds(NotificationFailed, at=at, channel=st.just("slack"), about=st.just("step_finished"), attempts=st.just(3),
              error=st.just("HTTP 500")),
    st.builds(Interrupted, at=at, signal=st.sampled_from(["SIGINT", "SIGTERM"])),
    st.builds(GamedayFinished, at=at, outcome=outcome, exit_code=st.sampled_from([0, 1, 3])),
)


@st.composite
def journals(draw):
    """A journal: gameday_started first (mostly: a torn or foreign journal may lack it), then any events."""
    rest = draw(st.lists(events, max_size=40))
    if draw(st.integers(0, 9)) == 0:
        return rest
    return [START, *rest]


@settings(max_examples=60, deadline=None)  # a unit test: under 2 s on a busy machine
@given(journals(), st.data())
def test_folding_one_by_one_equals_folding_all_at_once(journal, data):
    split = data.draw(st.integers(0, len(journal)))
    whole = fold(journal)
    live = GamedayState()
    for event in journal[:split]:
        live.apply(event)
    snapshot = live.copy()
    for event in journal[split:]:
        live.apply(event)
    assert live == whole
    assert snapshot == fold(journal[:split])  # a copy taken mid-way is the state of that prefix, untouched since


@settings(max_examples=60, deadline=None)  # a unit test: under 2 s on a busy machine
@given(journals())
def test_the_folds_figures_are_the_events_own(journal):
    state = fold(journal)
    samples = [e for e in journal if isinstance(e, SampleTaken)]
    for name, slo in state.slos.items():
        mine = [s for s in samples if s.slo == name]
        assert (slo.taken, slo.bad) == (len(mine), sum(not s.good for s in mine))
        assert slo.skipped == sum(e.skipped for e in journal if isinstance(e, SamplingBehind) and e.slo == name)
        assert slo.samples == mine and slo.last == (mine[-1] if mine else None)
        trailing_bad = []
        for sample in reversed(mine):
            if sample.good:
                break
            trailing_bad.append(sample)
        assert slo.breach_since == (trailing_bad[-1].at if trailing_bad else None)
        assert slo.flipped == (len(mine) > 1 and mine[-1].good != mine[-2].good)
        ended = [i for i in range(1, len(mine)) if mine[i].good and not mine[i - 1].good]  # samples that ended a breach
        if ended:
            first_bad = ended[-1] - 1
            while first_bad > 0 and not mine[first_bad - 1].good:
                first_bad -= 1
            assert slo.last_breach_since == mine[first_bad].at
        else:
            assert slo.last_breach_since is None
    assert {s.slo for s in samples} | {e.slo for e in journal if isinstance(e, SamplingBehind)} <= set(state.slos)
    planned = START in journal
    for name, burned in state.budget_spent().items():
        info = next(i for i in SLOS if i.name == name)
        assert planned and burned == burned_by(state.slos[name].bad, info, 1.0)
    # the open faults: armed for real, never rolled back by the experiment, the engine or recover
    armed = [e.step for e in journal if isinstance(e, FaultArmed) and not e.dry]
    closed = {e.step for e in journal if isinstance(e, ExperimentProgress) and e.kind == "rollbacks_completed"}
    closed |= {e.step for e in journal if isinstance(e, RollbacksPlayed) and e.succeeded}
    assert state.open_faults() == tuple(s for s in armed if s not in closed)
    for step_id, step in state.steps.items():
        finished = [e for e in journal if isinstance(e, StepFinished) and e.step == step_id]
        assert step.finished == (finished[0] if finished else None)
    assert state.events == len(journal)
    assert (state.began, state.ended) == ((min(e.at for e in journal), max(e.at for e in journal)) if journal else (None, None))
    assert state.start == (START if planned else None)
    if planned:
        assert list(state.slos)[:2] == ["checkout", "dns"] and list(state.steps)[:2] == list(STEPS)


@settings(max_examples=40, deadline=None)
@given(journals())
def test_a_state_without_samples_differs_only_by_them(journal):
    kept, counted = fold(journal), fold(journal, GamedayState(keep_samples=False))
    assert all(not slo.samples for slo in counted.slos.values())
    for slo in kept.slos.values():
        slo.samples.clear()
    assert dataclasses.replace(counted, keep_samples=True) == kept


def test_a_bad_sample_while_a_step_runs_counts_for_that_step_and_a_fault_restarts_the_guardrails_breach():
    state = fold([
        START,
        SampleTaken(at=1, slo="checkout", good=False),
        StepStarted(at=2, step="pod-kill"),
        FaultArmed(at=3, step="pod-kill", experiment_path="e.yaml", experiment={}, configuration={}),
        SampleTaken(at=4, slo="checkout", good=False),
        StepFinished(at=5, step="pod-kill", outcome=Outcome.PASSED, ctk_status="completed", deviated=False, journal=""),
        SampleTaken(at=6, slo="checkout", good=False),
    ])
    checkout = state.slos["checkout"]
    assert (checkout.breach_since, checkout.fault_breach_since) == (1, 4)
    assert state.steps["pod-kill"].bad_during == {"checkout": 1}
    assert state.steps["pod-kill"].state == "passed" and state.steps["db-failover"].state == "pending"
    assert state.current_step is None and state.now == "pod-kill: passed"
