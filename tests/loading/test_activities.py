"""The source-based check of python activities agrees with chaoslib's import-based one."""

from __future__ import annotations

import subprocess
import sys

import pytest
from chaoslib.exceptions import InvalidActivity
from chaoslib.provider.python import validate_python_activity

from gamedays.loading.activities import Unresolved, check_python_provider
from gamedays.loading.experiments import ExperimentProblem, validate_experiment

CASES = [
    ("chaosk8s.pod.actions", "terminate_pods", {"label_selector": "app=x", "qty": 1, "ns": "shop"}),
    ("chaosk8s.pod.actions", "terminate_pods", {"bogus": 1}),
    ("chaosk8s.pod.probes", "pods_in_phase", {}),  # label_selector is required
    ("chaosk8s.pod.probes", "pods_in_phase", {"label_selector": "app=x"}),
    ("chaosk8s.node.actions", "drain_nodes", {"name": "n1", "delete_pods_with_local_storage": True}),
    ("chaosk8s.deployment.actions", "scale_deployment", {"name": "d", "replicas": 0, "ns": "shop"}),
    ("chaosk8s.deployment.actions", "scale_deployment", {"name": "d"}),
    ("chaosaws.rds.actions", "failover_db_cluster", {"db_cluster_identifier": "shop-db"}),
    ("chaosaws.rds.actions", "reboot_db_instance", {"db_instance_identifier": "x", "force_failover": True}),
    ("chaosaws.rds.probes", "cluster_status", {"cluster_id": "shop-db"}),
    ("chaosaws.ec2.actions", "stop_instances", {"instance_ids": ["i-1"], "az": "us-east-1a"}),
    ("chaosk8s.pod.actions", "no_such_function", {}),
    ("chaosk8s.no_such_module", "f", {}),
    ("no_such_package.mod", "f", {}),
]


def chaoslib_says(module: str, func: str, arguments: dict) -> str | None:
    activity = {"type": "action", "name": func, "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}}
    try:
        validate_python_activity(activity)
    except InvalidActivity as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(("module", "func", "arguments"), CASES)
def test_static_check_agrees_with_chaoslib(module, func, arguments):
    provider = {"type": "python", "module": module, "func": func, "arguments": arguments}
    ours = check_python_provider(func, provider)
    theirs = chaoslib_says(module, func, arguments)
    assert (ours is None) == (theirs is None), (ours, theirs)
    if ours is not None and "does not expose" in theirs:
        assert ours.startswith(theirs.split(" in ")[0])


@pytest.mark.e2e
def test_validating_the_demo_plan_imports_no_heavy_sdk(repo):
    code = (
        "import sys; from gamedays.loading.plan import load_plan; load_plan('plans/2024-05.yaml'); "
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'kubernetes', 'chaosk8s', 'chaosaws'}); "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == ""


@pytest.mark.e2e
def test_help_imports_no_heavy_sdk(repo):
    code = (
        "import sys\nfrom gamedays.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'kubernetes', 'chaosk8s', 'chaosaws', 'chaoslib'})\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True, timeout=60)
    assert "HEAVY=\n" in out.stdout


def experiment_calling(module: str, func: str, arguments: dict) -> dict:
    return {
        "title": "t",
        "description": "d",
        "method": [{"type": "probe", "name": "p", "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}}],
    }


def test_what_the_source_cannot_settle_goes_to_chaoslib():
    provider = {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}
    with pytest.raises(Unresolved):
        check_python_provider("exists", provider)
    validate_experiment(experiment_calling("os.path", "exists", {"path": "/"}))
    with pytest.raises(ExperimentProblem, match="required argument 'path' is missing from activity 'exists'"):
        validate_experiment(experiment_calling("os.path", "exists", {"nope": "/"}))
