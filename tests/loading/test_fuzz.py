"""Malformed plans never make anything but the project's own error escape."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamedays.loading.plan import load_plan
from gamedays.model.errors import InvalidInput
from tests.support import REPO, VALID_PLAN

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["30s", "5%", "env:X", "../probes/slos.yaml", "sandbox", "", "checkout-availability"]),
    st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2100, 1, 1)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def mutated_plans(draw: st.DrawFn) -> Any:
    plan = yaml.safe_load(VALID_PLAN)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        candidates = paths(plan)
        if not candidates or not isinstance(plan, dict):
            break
        path = draw(st.sampled_from(candidates))
        parent = plan
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(values)
    return plan


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    for name in ("probes", "experiments", "playbooks"):
        shutil.copytree(REPO / name, root / name)
    (root / "plans").mkdir()
    return root


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated_plans())
def test_mutated_plans_raise_only_invalid_input(folder, plan):
    path = folder / "plans" / "fuzz.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    try:
        load_plan(path)
    except InvalidInput as exc:
        assert exc.problems
        assert all(p.message for p in exc.problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_arbitrary_text_raises_only_invalid_input(folder, text):
    path = folder / "plans" / "text.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_plan(path)
    except InvalidInput as exc:
        assert exc.problems


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=100))
def test_arbitrary_bytes_raise_only_invalid_input(folder, data):
    path = folder / "plans" / "bytes.yaml"
    path.write_bytes(data)
    try:
        load_plan(path)
    except InvalidInput as exc:
        assert exc.problems
