"""Load a step's Chaos Toolkit experiment with chaoslib and validate it as `chaos run` would.

The step's ``with:`` values become the experiment's configuration values: each
must be a key the experiment declares in its ``configuration`` block, and the
experiment's own ``${name}`` placeholders take them at run time. Validation
runs chaoslib's ``ensure_experiment_is_valid`` on the experiment with those
values applied; python activities are checked from source (see
:mod:`gamedays.loading.activities`) so that no extension SDK gets imported.
"""

from __future__ import annotations

import copy
import difflib
import logging
import os
from pathlib import Path
from typing import Any, Iterator

from gamedays.loading.activities import Unresolved, check_python_provider, validation_copy
from gamedays.loading.credentials import reject_credentials_in_experiment
from gamedays.loading.source import Document, display_path
from gamedays.model.errors import Problem
from gamedays.model.estimate import Estimate, experiment_estimate


class ExperimentProblem(Exception):
    """Why an experiment file cannot be used, in chaoslib's words where chaoslib found it."""


def load_experiment(path: Path) -> dict[str, Any]:
    """Parse the experiment file with chaoslib's loader, exactly as `chaos run` does."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.loader import load_experiment as ctk_load

    if path.suffix not in (".json", ".yaml", ".yml"):
        raise ExperimentProblem(f"{display_path(path)} is not a .json, .yaml or .yml file")
    try:
        experiment = ctk_load(str(path))
    except ChaosException as exc:
        raise ExperimentProblem(" ".join(str(exc).split())) from None
    except ValueError as exc:  # JSON syntax errors
        raise ExperimentProblem(f"invalid JSON: {exc}") from None
    if not isinstance(experiment, dict):
        raise ExperimentProblem("the file does not hold an experiment (a mapping with title, description, method)")
    reject_credentials_in_experiment(path, experiment)  # InvalidInput at the experiment's own file:line
    return experiment


def unknown_values(experiment: dict[str, Any], values: dict[str, Any]) -> list[tuple[str, str]]:
    """``with:`` keys the experiment does not declare, each with a hint of what it declares."""
    declared = list((experiment.get("configuration") or {}).keys())
    unknown = []
    for key in values:
        if key not in declared:
            match = difflib.get_close_matches(key, declared, n=1, cutoff=0.6)
            hint = f" (did you mean '{match[0]}'?)" if match else ""
            allowed = ", ".join(declared) if declared else "none: the experiment has no configuration block"
            unknown.append((key, f"unknown configuration key '{key}'{hint}; the experiment declares: {allowed}"))
    return unknown


def with_values(experiment: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of the experiment whose configuration takes the step's values."""
    applied = copy.deepcopy(experiment)
    configuration = dict(applied.get("configuration") or {})
    configuration.update(values)
    if configuration:
        applied["configuration"] = configuration
    return applied


def validate_experiment(experiment: dict[str, Any]) -> None:
    """chaoslib's ``ensure_experiment_is_valid``, with python activities checked from source."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    candidate = _with_run_time_values(copy.deepcopy(experiment))
    for activity, replace in _python_activities(candidate):
        try:
            reason = check_python_provider(str(activity.get("name", "")), activity["provider"])
        except Unresolved:
            continue  # chaoslib imports this one itself
        if reason is not None:
            raise ExperimentProblem(reason)
        replace(validation_copy(activity))
    logger = logging.getLogger("chaostoolkit")
    previous = logger.level
    logger.setLevel(logging.WARNING)  # chaoslib logs "Validating the experiment's syntax" at INFO
    try:
        ensure_experiment_is_valid(candidate)
    except ChaosException as exc:
        raise ExperimentProblem(" ".join(str(exc).split())) from None
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        # chaoslib assumes well-formed shapes; a list where it expects a mapping ends up here
        raise ExperimentProblem(f"malformed experiment ({type(exc).__name__}: {exc})") from None
    finally:
        logger.setLevel(previous)


def _with_run_time_values(experiment: dict[str, Any]) -> dict[str, Any]:
    """Configuration read from the environment at run time (``{type: env, key: NAME}``) may be unset now:
    the sandbox, or the target's pipeline, sets it when the gameday runs. Validation gives such keys a
    stand-in default, so it checks the experiment's shape without asking for the target's variables."""
    configuration = experiment.get("configuration")
    if isinstance(configuration, dict):
        for key, value in configuration.items():
            if isinstance(value, dict) and value.get("type") == "env" and "default" not in value:
                name = value.get("key")
                if isinstance(name, str) and name not in os.environ:
                    typed = value.get("env_var_type") in ("int", "float")
                    configuration[key] = {**value, "default": "0" if typed else f"<{name} at run time>"}
    # secrets too: chaoslib's validation reads {type: env} secrets and has no default for them
    secrets = experiment.get("secrets")
    for names in (secrets or {}).values() if isinstance(secrets, dict) else ():
        for key, value in (names or {}).items() if isinstance(names, dict) else ():
            if isinstance(value, dict) and value.get("type") == "env" and value.get("key") not in os.environ:
                names[key] = f"<{value.get('key')} at run time>"
    return experiment


def estimate(experiment: dict[str, Any]) -> Estimate:
    """The experiment's run time (its configuration holding the step's values): expected and longest."""
    return experiment_estimate(experiment)


def problem_at(doc: Document, loc: tuple[Any, ...], path: Path, reason: str) -> Problem:
    return doc.problem(loc, f"{display_path(path)} is not a valid Chaos Toolkit experiment: {reason}")


def _python_activities(experiment: dict[str, Any]) -> Iterator[tuple[dict[str, Any], Any]]:
    """Every python activity of the experiment, with a function that replaces it in place."""
    containers: list[list[Any]] = []
    ssh = experiment.get("steady-state-hypothesis")
    if isinstance(ssh, dict) and isinstance(ssh.get("probes"), list):
        containers.append(ssh["probes"])
    for key in ("method", "rollbacks"):
        if isinstance(experiment.get(key), list):
            containers.append(experiment[key])
    for container in containers:
        for index, activity in enumerate(container):
            provider = activity.get("provider") if isinstance(activity, dict) else None
            if isinstance(provider, dict) and provider.get("type") == "python" and "name" in activity:
                yield activity, _replacer(container, index)


def _replacer(container: list[Any], index: int) -> Any:
    def replace(new: dict[str, Any]) -> None:
        container[index] = new

    return replace
