"""Journal events of a small gameday, as the engine writes them, for the notification and observability tests."""

from __future__ import annotations

from gamedays.journal.delivery import Delivery
from gamedays.journal.state import GamedayState
from gamedays.model.dr import DRStepKind
from gamedays.model.events import (
    DRFinished,
    DRInfo,
    DRStepInfo,
    DRWrites,
    GamedayFinished,
    GamedayStarted,
    GuardrailTripped,
    Mode,
    SampleTaken,
    SLOInfo,
    StepFinished,
    StepInfo,
    StepStarted,
)
from gamedays.model.outcomes import Outcome

T0 = 1_716_300_000.0


def started(mode: Mode = Mode.RUN) -> GamedayStarted:
    return GamedayStarted(
        at=T0, gameday="2024-05", title="May gameday", date="2024-05-21", plan="/srv/gd/plans/2024-05.yaml",
        environment="sandbox", mode=mode, commander="alice", scribe="bob", participants=("carol",),
        slos=(
            # 99% over 1000 s: 10 s of budget; one bad 1 s sample burns 10% of it
            SLOInfo(name="checkout-availability", service="shop", kind="availability", objective=0.99,
                    window_seconds=1000.0, source="http"),
            SLOInfo(name="dns-resolution", service="dns", kind="availability", objective=0.9,
                    window_seconds=100.0, source="dns"),
        ),
        steps=(
            StepInfo(id="api-pod-loss", title="The shop survives losing a pod", experiment="pod-kill.yaml",
                     hypothesis=("checkout-availability",), recover_within_seconds=30.0),
            StepInfo(id="dns-loss", title="DNS record removed", experiment="record-removal.yaml",
                     hypothesis=(), recover_within_seconds=None),
        ),
        interval_seconds=1.0, budget_allowance=0.5, abort_when=("checkout-availability",), tolerate_seconds=5.0,
        disaster_recovery=(
            DRInfo(id="database-cluster", title="Database primary lost", playbook="database-cluster.yaml",
                   component_kind="database-cluster", component="shop-db", disaster="primary killed",
                   rto_seconds=60.0, rpo_seconds=0.0,
                   steps=(DRStepInfo(name="promote replica", kind=DRStepKind.AUTOMATED),)),
        ),
    )


def sample(slo: str, good: bool, at: float, value: float | None = None) -> SampleTaken:
    return SampleTaken(at=at, slo=slo, good=good, value=value, error=None if good else "HTTP 503")


def step_run(step: str, bad: int, outcome: Outcome = Outcome.PASSED, at: float = T0 + 10) -> list:
    """StepStarted, ``bad`` bad checkout samples and one good, StepFinished."""
    events: list = [StepStarted(at=at, step=step)]
    events += [sample("checkout-availability", False, at + 1 + i) for i in range(bad)]
    events.append(sample("checkout-availability", True, at + 2 + bad, 1.0))
    events.append(StepFinished(at=at + 3 + bad, step=step, outcome=outcome, ctk_status="completed", deviated=False,
                               journal=f"experiments/{step}.journal.json"))
    return events


def guardrail(step: str = "api-pod-loss") -> GuardrailTripped:
    return GuardrailTripped(at=T0 + 20, step=step, reason="slo_breach", slo="checkout-availability",
                            breach_started=T0 + 14.0, detected_at=T0 + 19.2,
                            detail="checkout-availability in breach for 5.2s (tolerate 5s)")


def dr_finished(rto: float | None, failed_step: str | None = None) -> DRFinished:
    return DRFinished(at=T0 + 200, check="database-cluster", disaster_at=T0 + 100,
                      recovered_at=None if rto is None else T0 + 100 + rto, failed_step=failed_step)


def dr_writes(lost: int) -> DRWrites:
    return DRWrites(at=T0 + 199, check="database-cluster", writer="postgres", acknowledged=120, lost=lost,
                    first_lost_at=T0 + 97.5 if lost else None, last_acked_at=T0 + 99)


def finished(outcome: Outcome = Outcome.DEVIATED) -> GamedayFinished:
    return GamedayFinished(at=T0 + 300, outcome=outcome, exit_code=1)


def listening(*listeners):
    """What the orchestrator's delivery does with each event: fold it, then call the hooks of its type (here, in this thread)."""
    delivery = Delivery()
    for listener in listeners:
        listener.subscribe(delivery.hooks)
    return delivery.put


class Said:
    """The messages events call for, the events folded one by one as the delivery folds them."""

    def __init__(self) -> None:
        self.state = GamedayState(keep_samples=False)

    def __call__(self, events: list) -> list:
        from gamedays.notify.messages import message

        said = []
        for event in events:
            self.state.apply(event)
            m = message(event, self.state)
            if m is not None:
                said.append(m)
        return said

    def last(self, closing):
        from gamedays.notify.messages import last_message

        finish = self.state.finish
        return last_message(finish, self.state.start, closing) if finish is not None else None
