"""Malformed plans never make anything but the project's own error escape."""

from __future__ import annotations

import datetime as dt
import os
import re
import resource
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

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


# ---------------------------------------------------------------- a fixed corpus through the real CLI

CASE_CPU = 5  # seconds of CPU per `gameday validate`: an alias bomb's unbounded work ends there
CASE_TIMEOUT = 30  # seconds of wall-clock: a read that blocks (a FIFO) ends there, also on a busy machine
CASE_MEMORY = 300 * 1024 * 1024  # bytes of address space
LOCATED = re.compile(r"^  \S+:\d+: ")  # every problem line: file:line, then the message
CATALOG = "probes/slos.yaml"
PLAYBOOK = "playbooks/database-cluster.yaml"


def _bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
    return "\n".join(lines) + "\n"


def _edited(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = root / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, (relative, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def _plan(text: str) -> Callable[[Path], None]:
    return lambda root: (root / "plans/p.yaml").write_bytes(text.encode("utf-8", "surrogateescape"))


def _plan_replacing(old: str, new: str) -> Callable[[Path], None]:
    assert old in VALID_PLAN, old
    return _plan(VALID_PLAN.replace(old, new, 1))


def _fifo_plan(root: Path) -> None:
    os.mkfifo(root / "plans/p.yaml")


def _symlink_loop_plan(root: Path) -> None:
    (root / "plans/p.yaml").symlink_to(root / "plans/q.yaml")
    (root / "plans/q.yaml").symlink_to(root / "plans/p.yaml")


def _bytes_plan(data: bytes) -> Callable[[Path], None]:
    return lambda root: (root / "plans/p.yaml").write_bytes(data)


def _two(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def both(root: Path) -> None:
        for setup in setups:
            setup(root)

    return both


# (name, how the tree is made wrong, the exit code `gameday validate` must give)
CORPUS: list[tuple[str, Callable[[Path], None], int]] = [
    ("alias bomb", _plan(VALID_PLAN + "x-bomb:\n" + textwrap.indent(_bomb(), "  ")), 2),
    ("deep nesting", _plan(VALID_PLAN + "deep: " + "[" * 5000 + "]" * 5000 + "\n"), 2),
    ("fifo plan", _fifo_plan, 2),
    ("dev zero catalog", _plan_replacing("../probes/slos.yaml", "/dev/zero"), 2),
    ("symlink loop", _symlink_loop_plan, 2),
    ("impossible date", _plan_replacing("2024-05-21", "2024-02-30"), 2),
    ("undecodable bytes", _bytes_plan(VALID_PLAN.encode() + b"notes: \xff\xfe\x80\n"), 2),
    ("nul byte", _bytes_plan(VALID_PLAN.encode() + b"notes: a\x00b\n"), 2),
    ("huge scalar", _plan_replacing('title: "May 2024"', "title: " + "x" * (2 * 1024 * 1024)), 2),
    ("long scalar", _plan_replacing('title: "May 2024"', "title: " + "x" * 500_000), 0),
    ("number-like scalar", _plan_replacing('title: "May 2024"', "title: ._"), 0),
    ("empty plan", _plan(""), 2),
    ("plan is a list", _plan("- 1\n- 2\n"), 2),
    ("interval 0s", _plan_replacing("guardrails:", "monitor: {interval: 0s}\nguardrails:"), 2),
    ("interval 1ms", _plan_replacing("guardrails:", "monitor: {interval: 1ms}\nguardrails:"), 2),
    ("timeout above intervals", _plan_replacing("guardrails:", "monitor: {interval: 100ms, timeout: 1h}\nguardrails:"), 2),
    ("error budget 0%", _plan_replacing("  abort_when:", "  error_budget: 0%\n  abort_when:"), 2),
    ("rto 0ms", _plan_replacing("database-cluster.yaml\n", "database-cluster.yaml\n    rto: 0ms\n"), 2),
    ("report out root", _plan(VALID_PLAN + "report: {out: /}\n"), 2),
    ("catalog alias bomb", _two(_plan(VALID_PLAN), lambda root: (root / CATALOG).write_text(_bomb())), 2),
    ("catalog window 0s", _two(_plan(VALID_PLAN), _edited(CATALOG, "window: 30d", "window: 0s")), 2),
    ("playbook rto 0ms", _two(_plan(VALID_PLAN), _edited(PLAYBOOK, "rto: 2m", "rto: 0ms")), 2),
    ("playbook bad bytes", _two(_plan(VALID_PLAN), lambda root: (root / PLAYBOOK).write_bytes(b"title: \xc3\x28\n")), 2),
]


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CASE_MEMORY, CASE_MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (CASE_CPU, CASE_CPU))


# the plan named on the command line cannot be opened: no line names it, the message names the file
LINELESS = {"symlink loop"}


@pytest.mark.parametrize(("name", "setup", "code"), CORPUS, ids=[name for name, _, _ in CORPUS])
def test_the_corpus_exits_0_or_2_in_bounds_with_file_and_line(tmp_path, name, setup, code):
    for folder_name in ("probes", "experiments", "playbooks"):
        shutil.copytree(REPO / folder_name, tmp_path / folder_name)
    (tmp_path / "plans").mkdir()
    setup(tmp_path)
    env = {**os.environ, "GAMEDAY_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "gamedays", "validate", "plans/p.yaml"],
        cwd=tmp_path, env=env, capture_output=True, text=True, errors="replace",
        timeout=CASE_TIMEOUT, preexec_fn=_limited, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == code, result
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    if code == 2:
        problems = [line for line in result.stderr.splitlines() if line.startswith("  ")]
        assert problems, result.stderr
        if name in LINELESS:
            assert all(line.startswith("  plans/p.yaml: ") for line in problems), result.stderr
        else:
            assert all(LOCATED.match(line) for line in problems), result.stderr


# ---------------------------------------------------------------- catalogs and playbooks through the CLI, in-process


def _mutated(draw: st.DrawFn, document: Any) -> Any:
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        candidates = paths(document)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()):
            parent[path[-1]] = draw(values)
        else:
            del parent[path[-1]]
    return document


@st.composite
def mutated_catalogs(draw: st.DrawFn) -> Any:
    return _mutated(draw, yaml.safe_load((REPO / CATALOG).read_text(encoding="utf-8")))


@st.composite
def mutated_playbooks(draw: st.DrawFn) -> Any:
    return _mutated(draw, yaml.safe_load((REPO / PLAYBOOK).read_text(encoding="utf-8")))


def _assert_located(result: Any) -> None:
    assert result.code in (0, 2), result
    assert "Traceback" not in result.out + result.err
    if result.code == 2:
        problems = [line for line in result.err.splitlines() if line.startswith("  ")]
        assert problems and all(LOCATED.match(line) for line in problems), result.err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(catalog=mutated_catalogs())
def test_mutated_catalogs_exit_0_or_2_with_file_and_line(tree, gameday, catalog):
    tree.plan()
    (tree.root / CATALOG).write_text(yaml.safe_dump(catalog, sort_keys=False), encoding="utf-8")
    _assert_located(gameday("validate", "plans/p.yaml"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(playbook=mutated_playbooks())
def test_mutated_playbooks_exit_0_or_2_with_file_and_line(tree, gameday, playbook):
    tree.plan()
    (tree.root / PLAYBOOK).write_text(yaml.safe_dump(playbook, sort_keys=False), encoding="utf-8")
    _assert_located(gameday("validate", "plans/p.yaml"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=mutated_plans())
def test_mutated_plans_exit_0_or_2_with_file_and_line(tree, gameday, plan):
    tree.plan(yaml.safe_dump(plan, sort_keys=False))
    _assert_located(gameday("validate", "plans/p.yaml"))
