"""The resilience score: a pure function, bounded 0..100, rising when things go better, its formula in the report."""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamedays.journal.io import read_journal
from gamedays.model.dr import DROutcome
from gamedays.reporting.analysis import analyse
from gamedays.reporting.render import render_report
from gamedays.reporting.score import FORMULA, WEIGHTS, ScoreInputs, budget_credit, dr_credit, resilience_score
from tests.reporting.htmlcheck import Page

flags = st.lists(st.booleans(), max_size=12).map(tuple)
burns = st.lists(st.one_of(st.floats(min_value=0, max_value=50, allow_nan=False), st.just(math.inf)), max_size=6).map(tuple)
credits = st.lists(st.floats(min_value=0, max_value=1), max_size=6).map(tuple)
allowances = st.floats(min_value=0, max_value=2)
inputs = st.builds(ScoreInputs, hypotheses=flags, recoveries=flags, burned=burns, allowance=allowances,
                   disaster_recovery=credits, coverage=flags)


@given(inputs)
def test_the_score_is_between_0_and_100_or_none_when_nothing_was_measured(given_inputs):
    score = resilience_score(given_inputs)
    nothing = not any((given_inputs.hypotheses, given_inputs.recoveries, given_inputs.burned,
                       given_inputs.disaster_recovery, given_inputs.coverage))
    assert (score.value is None) is nothing
    if score.value is not None:
        assert 0.0 <= score.value <= 100.0
    assert [(p.name, p.weight) for p in score.parts] == list(WEIGHTS) and score.formula == FORMULA
    assert all(p.value is None or 0.0 <= p.value <= 1.0 for p in score.parts)


def _flip_one(values: tuple[bool, ...], index: int) -> tuple[bool, ...]:
    index %= len(values)
    return values[:index] + (True,) + values[index + 1 :]


@given(inputs, st.integers(min_value=0))
def test_a_held_hypothesis_a_recovery_in_time_or_a_covered_component_never_lowers_the_score(given_inputs, index):
    before = resilience_score(given_inputs).value
    for field in ("hypotheses", "recoveries", "coverage"):
        values = getattr(given_inputs, field)
        if values:
            better = ScoreInputs(**{**given_inputs.__dict__, field: _flip_one(values, index)})
            assert resilience_score(better).value >= before


@given(inputs, st.integers(min_value=0), st.floats(min_value=0, max_value=1))
def test_burning_less_budget_or_a_better_dr_check_never_lowers_the_score(given_inputs, index, factor):
    before = resilience_score(given_inputs).value
    if given_inputs.burned:
        burned = list(given_inputs.burned)
        burned[index % len(burned)] *= factor if math.isfinite(burned[index % len(burned)]) else 0
        assert resilience_score(ScoreInputs(**{**given_inputs.__dict__, "burned": tuple(burned)})).value >= before
    if given_inputs.disaster_recovery:
        dr = list(given_inputs.disaster_recovery)
        dr[index % len(dr)] = dr[index % len(dr)] + (1 - dr[index % len(dr)]) * factor
        assert resilience_score(ScoreInputs(**{**given_inputs.__dict__, "disaster_recovery": tuple(dr)})).value >= before


@given(st.floats(min_value=0, max_value=100, allow_nan=False), st.floats(min_value=0, max_value=100, allow_nan=False),
       st.floats(min_value=0, max_value=2))
def test_budget_credit_falls_as_the_burn_rises(low, high, allowance):
    low, high = sorted((low, high))
    assert 0.0 <= budget_credit(high, allowance) <= budget_credit(low, allowance) <= 1.0
    assert budget_credit(0.0, allowance) == 1.0 and budget_credit(math.inf, allowance) == 0.0


def test_the_extremes_and_a_worked_example():
    perfect = ScoreInputs(hypotheses=(True,), recoveries=(True,), burned=(0.0,), allowance=0.05, disaster_recovery=(1.0,),
                          coverage=(True,))
    assert resilience_score(perfect).value == 100.0
    worst = ScoreInputs(hypotheses=(False,), recoveries=(False,), burned=(math.inf,), disaster_recovery=(0.0,), coverage=(False,))
    assert resilience_score(worst).value == 0.0
    # hypotheses 1/2 (30), budget 1 - 0.01/0.02 = 0.5 (20); recovery, DR and coverage left out: 100 * (15 + 10) / 50
    example = ScoreInputs(hypotheses=(True, False), burned=(0.01,), allowance=0.02)
    assert resilience_score(example).value == 50.0
    assert resilience_score(ScoreInputs()).value is None


@pytest.mark.parametrize(
    "outcome, rto_met, rpo_met, credit",
    [
        (DROutcome.RECOVERED, True, True, 1.0),
        (DROutcome.RECOVERED, True, None, 1.0),  # no RPO target: nothing to miss
        (DROutcome.MISSED_TARGET, False, True, 0.5),
        (DROutcome.MISSED_TARGET, True, False, 0.5),
        (DROutcome.NOT_VERIFIED, True, None, 0.5),
        (DROutcome.FAILED, False, None, 0.0),
        (DROutcome.ABORTED, None, None, 0.0),
        (DROutcome.SKIPPED, None, None, None),
        (DROutcome.READY, None, None, None),
    ],
)
def test_dr_credit(outcome, rto_met, rpo_met, credit):
    assert dr_credit(outcome, rto_met, rpo_met) == credit


def test_the_score_of_a_gameday_with_its_formula_in_every_rendering(make):
    folder = make("dr")
    analysis = analyse(read_journal(folder / "journal.jsonl").events)
    parts = {p.name: p.value for p in analysis.score_parts}
    # one experiment held and recovered; 2 SLOs under no allowance; DR 1 + 0.5 + 0 + 0.5 over 4; 3 of 4 covered
    assert parts["hypotheses"] == 1.0 and parts["recovery"] == 1.0 and parts["disaster recovery"] == 0.5
    assert parts["coverage"] == 0.75 and 0.8 < parts["budget"] < 1.0
    expected = round(100 * (30 + 20 + 20 * parts["budget"] + 20 * 0.5 + 10 * 0.75) / 100, 1)
    assert analysis.score == expected
    render_report(folder)
    document = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert document["analysis"]["score"] == expected and document["analysis"]["score_formula"] == FORMULA
    assert [p["name"] for p in document["analysis"]["score_parts"]] == [name for name, _ in WEIGHTS]
    page = Page((folder / "report.html").read_text(encoding="utf-8"))
    text = re.sub(r"\s+", " ", page.all_text)
    assert f"Resilience score {expected} / 100" in text
    assert "score = 100 × Σ(weight × part) / Σ(weight) over the parts that apply" in text
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert f"**{expected}** / 100" in markdown and "| disaster recovery | 20 | 50.0% | 4 |" in markdown
    assert "hypotheses (weight 30) = experiments whose hypothesis held / experiments that ran" in markdown
