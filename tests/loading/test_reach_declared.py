"""Declared reach cannot drift: every catalog experiment and DR playbook declares at least the reach of what it calls.

A fault function of ``gamedays.faults`` declares its reach with ``@acts_on``; chaosk8s acts on
Kubernetes, chaosaws on AWS, a ``process`` provider on this host; a playbook's writer acts
where its kind says. The experiment's (or playbook's) declared reach must cover all of it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Any, Iterator

import pytest

import gamedays.faults
from gamedays.loading.catalog import list_catalog
from gamedays.loading.plan import load_playbook
from gamedays.model.playbook import WriterKind
from gamedays.model.reach import REMOTE, Reach, acts_on, fits, not_fitting, reach_of

REPO = Path(__file__).resolve().parents[2]
#: Modules of gamedays.faults that hold no Chaos Toolkit activity: the building blocks of those that do.
BUILDING_BLOCKS = {"aws.client"} | {f"local.{name}" for name in ("pgcontrol", "pgserver", "proxycontrol", "proxyfault", "proxyprocess", "tcpforward", "tcpproxy")}
#: The reach every fault function of a remote package acts on (with, at most, other remote reach).
PACKAGE_REACH = {"aws": Reach.AWS, "kubernetes": Reach.KUBERNETES, "postgres": Reach.POSTGRES, "dns": Reach.RFC2136}
EXTENSIONS = {"chaosk8s.": Reach.KUBERNETES, "chaosaws.": Reach.AWS}
WRITERS = {WriterKind.POSTGRES: Reach.POSTGRES, WriterKind.DNS: Reach.RFC2136, WriterKind.KUBERNETES: Reach.KUBERNETES}


def called_reach(activity: dict[str, Any]) -> tuple[str, frozenset[Reach]]:
    """What the activity calls and the reach that has (empty: HTTP, or gameday's own probes)."""
    provider = activity["provider"]
    if provider["type"] == "process":
        return provider["path"], frozenset({Reach.LOCAL_HOST})
    if provider["type"] != "python":
        return provider["type"], frozenset()
    module, func = provider["module"], provider["func"]
    name = f"{module}.{func}"
    for prefix, reach in EXTENSIONS.items():
        if module.startswith(prefix):
            return name, frozenset({reach})
    if module.startswith("gamedays.faults."):
        declared = reach_of(getattr(importlib.import_module(module), func))
        assert declared is not None, f"{name} declares no reach: decorate it with @acts_on"
        return name, declared
    return name, frozenset()


def experiment_activities(experiment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from (experiment.get("steady-state-hypothesis") or {}).get("probes", [])
    yield from experiment.get("method", [])
    yield from experiment.get("rollbacks", [])


def test_every_catalog_experiment_declares_the_reach_of_everything_it_calls():
    from ruamel.yaml import YAML

    entries = list_catalog(REPO / "experiments")
    assert len(entries) == 23
    for entry in entries:
        experiment = YAML(typ="safe").load(entry.path.read_text())
        for activity in experiment_activities(experiment):
            name, reach = called_reach(activity)
            missing = reach - set(entry.reach)
            assert not missing, f"{entry.id} calls {name}, which acts on {sorted(r.value for r in missing)}: not declared"


def test_every_playbook_declares_the_reach_of_its_steps_checks_and_writer():
    playbooks = sorted((REPO / "playbooks").glob("*.yaml"))
    assert len(playbooks) == 7
    for path in playbooks:
        playbook = load_playbook(path)
        assert playbook.reach, path.name
        activities = [s.automated for _, steps in playbook.phases() for s in steps if s.automated]
        activities += [c.probe for c in playbook.checks if c.probe]
        needed = {name: reach for name, reach in map(called_reach, activities)}
        if playbook.writer is not None:
            needed[f"its {playbook.writer.kind.value} writer"] = frozenset({WRITERS[playbook.writer.kind]})
        for name, reach in needed.items():
            missing = reach - set(playbook.reach)
            assert not missing, f"{path.name}: {name} acts on {sorted(r.value for r in missing)}: not declared"
        for reach in playbook.reach:
            assert playbook.permissions.get(reach), f"{path.name}: no permissions for {reach.value}"


def fault_modules() -> list[str]:
    """``aws.route53``, ``local.proxy``, ...: every module of the packages of gamedays.faults."""
    prefix = "gamedays.faults."
    names = [m.name.removeprefix(prefix) for m in pkgutil.walk_packages(gamedays.faults.__path__, prefix) if not m.ispkg]
    return sorted(n for n in names if n not in BUILDING_BLOCKS)


def test_fault_modules_are_grouped_by_what_they_act_on():
    packages = [m.name for m in pkgutil.iter_modules(gamedays.faults.__path__)]
    assert sorted(packages) == sorted([*PACKAGE_REACH, "local"])  # no module outside a group
    assert "aws.route53" in fault_modules() and "local.proxy" in fault_modules()


@pytest.mark.parametrize("module", fault_modules())
def test_every_public_fault_function_declares_its_reach(module: str):
    loaded = importlib.import_module(f"gamedays.faults.{module}")
    public = getattr(loaded, "__all__", None)
    assert public, f"gamedays.faults.{module} lists its fault functions in __all__ (or is a building block)"
    functions = [getattr(loaded, name) for name in public if inspect.isfunction(getattr(loaded, name))]
    assert functions
    package = module.split(".")[0]
    reaches = {function.__name__: reach_of(function) for function in functions}
    for name, reach in reaches.items():
        assert reach, f"gamedays.faults.{module}.{name} declares no reach (@acts_on)"
        if package != "local":  # its path says it works on real infrastructure, from wherever gameday runs
            assert PACKAGE_REACH[package] in reach and reach <= REMOTE, f"{module}.{name}: {reach}"
    if package == "local":  # a helper by DSN may sit beside them (take_base_backup), not a module of them only
        assert any(r & {Reach.LOCAL_HOST, Reach.SANDBOX} for r in reaches.values() if r), f"{module} acts on no local part"


def test_the_rule_of_what_fits_where():
    for reach in Reach:
        assert fits(reach, environment_is_sandbox=True, on_this_host=False)
    assert not fits(Reach.SANDBOX, environment_is_sandbox=False, on_this_host=True)
    assert not fits(Reach.LOCAL_HOST, environment_is_sandbox=False, on_this_host=False)
    assert fits(Reach.LOCAL_HOST, environment_is_sandbox=False, on_this_host=True)
    for reach in (Reach.POSTGRES, Reach.KUBERNETES, Reach.AWS, Reach.RFC2136):
        assert fits(reach, environment_is_sandbox=False, on_this_host=False)
    assert not_fitting([Reach.RFC2136, Reach.LOCAL_HOST, Reach.SANDBOX], False, False) == (Reach.SANDBOX, Reach.LOCAL_HOST)


def test_acts_on_leaves_the_function_as_it_was():
    def fault(dsn: str) -> str:
        return dsn

    marked = acts_on(Reach.POSTGRES)(fault)
    assert marked is fault and marked("x") == "x" and reach_of(marked) == frozenset({Reach.POSTGRES})
    assert reach_of(lambda: None) is None
