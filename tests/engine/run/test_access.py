"""Before the first fault, the preflight says where the gameday acts (the AWS account, the Kubernetes
cluster) and stops, naming the reach, when it cannot act there: nothing injected, no journal started."""

from __future__ import annotations

import json
import re

from tests.engine.run.conftest import REPO, run_gameday

ROUTE53 = {"id": "route53", "uses": str(REPO / "experiments/aws/route53-record-change.yaml"), "with": {"hold_seconds": 0},
           "hypothesis": ["checkout-availability"], "recover_within": "20s"}
POD_KILL = {"id": "pod-kill", "uses": str(REPO / "experiments/kubernetes/pod-kill.yaml"),
            "with": {"namespace": "shop", "label_selector": "app=shop-api", "qty": 1},
            "hypothesis": ["checkout-availability"], "recover_within": "20s"}


def staging(plans, steps):  # type: ignore[no-untyped-def]
    """A plan for environment: staging (the caller's environment is the target), rehearsed."""
    path = plans.write(steps)
    plan = json.loads(path.read_text())
    path.write_text(json.dumps({**plan, "environment": "staging"}))
    return path


def test_a_rehearsal_says_which_account_and_cluster_it_acts_on_and_journals_them(sandbox, plans):
    plan = plans.write([ROUTE53, POD_KILL])
    done = run_gameday(sandbox, "rehearse", str(plan), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"acts on aws: account 123456789012 as arn:aws:\S+, region us-east-1\n", done.stdout), done.stdout
    assert re.search(r"acts on kubernetes: context \S+ \(http://127\.0\.0\.1:\d+\), Kubernetes v\S+\n", done.stdout), done.stdout
    journal = plans.folder / "report/rehearsal/journal.jsonl"
    started = json.loads(journal.read_text().splitlines()[0])
    assert [a["reach"] for a in started["access"]] == ["aws", "kubernetes"]
    assert started["access"][0]["where"].startswith("account 123456789012 as arn:aws:")
    report = (plans.folder / "report/rehearsal/report.md").read_text()
    assert re.search(r"^- Acted on: aws: account 123456789012 as arn:aws:", report, re.MULTILINE), report
    assert re.search(r"^- Acted on: kubernetes: context ", report, re.MULTILINE)


def test_no_kubeconfig_stops_the_gameday_before_anything_is_injected(sandbox, plans):
    env = {**sandbox, "KUBECONFIG": str(plans.folder / "missing-kubeconfig")}
    done = run_gameday(env, "run", str(staging(plans, [POD_KILL])), "--confirm", "staging", timeout=300)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "preflight: cannot act where the plan acts, so no fault was injected:\n  kubernetes: no Kubernetes credentials" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (plans.folder / "report/journal.jsonl").exists()


def test_no_aws_credentials_stop_the_gameday_and_name_the_chain(sandbox, plans):
    env = {key: value for key, value in sandbox.items() if not key.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true",
               AWS_REGION="us-east-1", AWS_ENDPOINT_URL=sandbox["AWS_ENDPOINT_URL"])
    done = run_gameday(env, "run", str(staging(plans, [ROUTE53])), "--confirm", "staging", timeout=300)
    assert done.returncode == 3, done.stdout + done.stderr
    assert (
        "  aws: no AWS credentials found by the standard chain (AWS_PROFILE, AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, web identity, an instance or pod role)"
    ) in done.stderr
    assert not (plans.folder / "report/journal.jsonl").exists()
