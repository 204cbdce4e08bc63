"""The `gameday` command line: help, validate, schema, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def test_help_lists_every_command_and_the_exit_codes(gameday):
    result = gameday("--help")
    assert result.code == 0
    for command in ("validate", "schema", "run", "rehearse", "report", "sandbox"):
        assert f"  {command} " in result.out
    assert "0  success, and every hypothesis held" in result.out
    assert "3  aborted or interrupted" in result.out


def test_validate_prints_a_summary_of_the_may_plan(gameday, repo, monkeypatch):
    monkeypatch.chdir(repo)
    result = gameday("validate", "plans/2024-05.yaml")
    assert result.code == 0, result.err
    out = result.out
    assert out.startswith("plans/2024-05.yaml: valid\n")
    assert "experiments  3" in out
    assert "1. api-pod-loss:" in out
    assert "SLOs         4 in use of 5 in probes/slos.yaml" in out
    assert "DR checks    3" in out
    assert "database cluster 'shop-db'" in out and "(RTO 5m, RPO 30s)" in out
    assert "duration     about 1m50.5s expected; at most " in out
    assert "R-4          all 3 key components have a DR playbook" in out


def test_strict_validation_fails_on_r4_gaps(gameday, tree):
    from tests.support import VALID_PLAN

    tree.plan(VALID_PLAN.replace("components:\n", "components:\n  - {kind: dns-zone, name: shop.internal}\n"))
    relaxed = gameday("validate", "plans/p.yaml")
    assert relaxed.code == 0
    assert "warning: R-4: no disaster-recovery playbook in this plan covers:\n  - DNS zone 'shop.internal'" in relaxed.out
    assert gameday("validate", "--strict", "plans/p.yaml").code == 2


def test_report_of_a_folder_without_a_journal_says_so_and_exits_2(gameday, tmp_path):
    result = gameday("report", str(tmp_path))
    assert result.code == 2
    assert "journal.jsonl" in result.err and "Traceback" not in result.err


def test_usage_errors_exit_2(gameday):
    assert gameday("no-such-command").code == 2
    assert gameday("validate").code == 2


@pytest.mark.e2e
def test_the_installed_console_script_exits_with_the_documented_codes(repo, tmp_path):
    gameday = [sys.executable, "-m", "gamedays"]
    ok = subprocess.run([*gameday, "validate", "plans/2024-05.yaml"], cwd=repo, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("gameday: [\n")
    invalid = subprocess.run([*gameday, "validate", str(bad)], cwd=repo, capture_output=True, text=True, timeout=60)
    assert invalid.returncode == 2
    assert "invalid YAML" in invalid.stderr and "Traceback" not in invalid.stderr


def test_catalog_lists_every_experiment_with_its_parameters(gameday, repo, monkeypatch):
    monkeypatch.chdir(repo)
    result = gameday("catalog")
    assert result.code == 0, result.err
    files = sorted(p for p in (repo / "experiments").rglob("*.yaml"))
    assert f"{len(files)} experiments" in result.out
    assert "kubernetes/pod-kill" in result.out and "with: namespace=default, label_selector=app=shop-api, qty=1" in result.out
    listed = json.loads(gameday("catalog", "--json").out)
    assert len(listed) == len(files)


def test_catalog_shows_each_entrys_reach_and_the_permissions_it_needs(gameday, repo, monkeypatch):
    monkeypatch.chdir(repo)
    table = gameday("catalog").out.splitlines()
    row = next(line for line in table if line.startswith("aws/aurora-cluster-failover "))
    assert row.split()[1:4] == ["database", "aws,postgres", "yes"]
    assert any(line.startswith("    needs: aws: rds:DescribeDBClusters, rds:FailoverDBCluster; postgres: ") for line in table)
    listed = {e["id"]: e for e in json.loads(gameday("catalog", "--json").out)}
    kill = listed["local/postgres-primary-kill"]
    assert kill["reach"] == ["local-host", "postgres"]
    assert set(kill["permissions"]) == {"local-host", "postgres"}
    assert listed["kubernetes/pod-kill"]["permissions"] == {"kubernetes": ["list pods", "delete pods"]}
    assert {r for e in listed.values() for r in e["reach"]} == {"sandbox", "local-host", "postgres", "kubernetes", "aws", "rfc2136"}
