"""DR checks in a real gameday: each shipped playbook recovers the sandbox, RTO and RPO are measured,
a broken step fails the check and leaves the system as that step left it, a rehearsal injects nothing.

Every test looks at the target (PostgreSQL roles and streaming, DNS records, pods, the shop), not only
at the journal.
"""

from __future__ import annotations

import json

from gamedays.faults.dns import zone as dnszone
from tests.engine.dr.support import (
    cluster_shape,
    db_srv,
    delay_recovery,
    edit_playbook,
    events_of,
    kinds,
    layout,
    pod_names,
    remove_rpo_stamps,
    route53_records,
    stop_once_struck,
    wait_cluster_streaming,
    write_plan,
    zone_records,
)
from tests.engine.run.conftest import (
    gameday_process,
    run_gameday,
    wait_for_journal,
    wait_ready_pods,
)

ALL = ["database-cluster.yaml", "dns.yaml", "kubernetes-cluster.yaml"]


def test_each_shipped_playbook_recovers_the_sandbox_with_rto_and_rpo_measured(sandbox, tmp_path):
    records = zone_records(sandbox)
    plan = write_plan(layout(tmp_path), ALL)
    result = run_gameday(sandbox, "run", str(plan), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    events = events_of(tmp_path / "reports/dr/journal.jsonl")
    started = kinds(events, "gameday_started")[0]
    assert [d["id"] for d in started["disaster_recovery"]] == ["database-cluster", "dns", "kubernetes-cluster"]
    for check in ("database-cluster", "dns", "kubernetes-cluster"):
        finished = kinds(events, "dr_finished", check)[0]
        assert finished["failed_step"] is None, finished
        assert finished["disaster_at"] < finished["recovered_at"], finished
        steps = kinds(events, "dr_step", check)
        assert {s["phase"] for s in steps} >= {"disaster", "step", "check"}
        assert all(s["outcome"] == "passed" for s in steps), steps
        writes = kinds(events, "dr_writes", check)[0]
        assert writes["error"] is None and writes["acknowledged"] > 0, writes
    # a crash of a primary under asynchronous streaming may lose its last acknowledged writes: measured, not assumed
    assert kinds(events, "dr_writes", "database-cluster")[0]["lost"] < kinds(events, "dr_writes", "database-cluster")[0]["acknowledged"]
    # the target: the cluster failed back (same primary, a streaming replica), the zone and the shop are whole
    assert wait_cluster_streaming(sandbox) == {"primary_in_recovery": False, "streaming_replicas": 1}
    assert zone_records(sandbox) == records
    wait_ready_pods(sandbox, 3)
    report = json.loads((tmp_path / "reports/dr/report.json").read_text())
    assert "disaster_recovery" in report["analysis"]


def test_the_route53_playbook_loses_the_hosted_zone_and_restores_it_through_the_api(sandbox, tmp_path):
    before = route53_records(sandbox)
    assert ("db.shop.internal.", "A", ("127.0.0.1",)) in before
    plans = layout(tmp_path)
    delay_recovery(tmp_path, "route53-zone.yaml", 5)  # the restore would otherwise follow the disaster within a second
    plan = write_plan(plans, ["route53-zone.yaml"])
    process = gameday_process(sandbox, "run", str(plan))
    try:  # the disaster is seen on the target: the zone is down to its apex while the check runs
        journal = tmp_path / "reports/dr/journal.jsonl"
        wait_for_journal(journal, lambda events: any(e["event"] == "dr_step" and e["phase"] == "disaster" for e in events), timeout=240)
        assert {(name, kind) for name, kind, _ in route53_records(sandbox)} <= {("shop.internal.", "SOA"), ("shop.internal.", "NS")}
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)
    assert process.returncode == 0, out + err
    finished = kinds(events_of(journal), "dr_finished", "route53-zone")[0]
    assert finished["failed_step"] is None and finished["disaster_at"] < finished["recovered_at"], finished
    checks = [s for s in kinds(events_of(journal), "dr_step", "route53-zone") if s["phase"] == "check"]
    assert checks and all(s["outcome"] == "passed" for s in checks), checks
    assert route53_records(sandbox) == before


def test_a_broken_step_fails_the_check_names_the_step_and_leaves_the_system_as_it_was(sandbox, tmp_path):
    plans = layout(tmp_path)
    edit_playbook(tmp_path / "playbooks/dns.yaml",
                  lambda pb: pb["steps"][0]["automated"]["provider"]["arguments"].__setitem__("path", "no-such.backup.json"))
    plan = write_plan(plans, ["dns.yaml"])
    records = zone_records(sandbox)
    try:
        result = run_gameday(sandbox, "run", str(plan), timeout=300)
        assert result.returncode == 1, result.stdout + result.stderr  # a finding, not an error
        events = events_of(tmp_path / "reports/dr/journal.jsonl")
        finished = kinds(events, "dr_finished", "dns")[0]
        assert finished["failed_step"] == "Restore the zone from its backup"
        assert finished["recovered_at"] is None
        failed = [s for s in kinds(events, "dr_step", "dns") if s["outcome"] == "failed"]
        assert [s["name"] for s in failed] == ["Restore the zone from its backup"]
        assert "no-such.backup.json" in failed[0]["detail"]
        assert all(s["phase"] != "check" for s in kinds(events, "dr_step", "dns"))  # no later phase ran
        # left as the failed step left it: the records are still gone, nothing pretended to recover them
        assert db_srv(sandbox) is None
        assert "Restore the zone from its backup" in result.stdout
    finally:
        backup = tmp_path / "reports/dr/dr/dns/zone.backup.json"
        host_port, zone = sandbox["SANDBOX_DNS"], sandbox["SANDBOX_DNS_ZONE"]
        dnszone.restore_zone(host_port, zone, str(backup))
        remove_rpo_stamps(sandbox)  # the backup holds some; the writer's cleanup ran before this restore
    assert zone_records(sandbox) == records


def test_a_rehearsal_prechecks_every_playbook_and_injects_nothing(sandbox, tmp_path):
    plan = write_plan(layout(tmp_path), ALL)
    pods, records, shape = pod_names(sandbox), zone_records(sandbox), cluster_shape(sandbox)
    result = run_gameday(sandbox, "rehearse", str(plan), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    events = events_of(tmp_path / "reports/dr/rehearsal/journal.jsonl")
    for check in ("database-cluster", "dns", "kubernetes-cluster"):
        assert kinds(events, "dr_started", check)[0]["dry"] is True
        prechecks = kinds(events, "dr_step", check)
        assert prechecks and all(s["phase"] == "precheck" for s in prechecks)
        assert all(s["outcome"] in ("passed", "skipped") for s in prechecks), prechecks
        finished = kinds(events, "dr_finished", check)[0]
        assert finished["disaster_at"] is None and finished["failed_step"] is None
    names = [s["name"] for s in kinds(events, "dr_step", "dns")]
    assert "backup: Back up the zone" in names and "disaster.inject: Delete the zone's records" in names
    assert (tmp_path / "reports/dr/rehearsal/dr/dns/zone.backup.json").is_file()  # the backup can be taken
    assert (tmp_path / "reports/dr/rehearsal/dr/kubernetes-cluster/shop.manifests.json").is_file()
    # nothing was injected: same pods, same records, same primary
    assert pod_names(sandbox) == pods
    assert zone_records(sandbox) == records
    assert cluster_shape(sandbox) == shape


def test_a_rehearsal_reports_a_backup_that_cannot_be_taken(sandbox, tmp_path):
    plans = layout(tmp_path)
    edit_playbook(tmp_path / "playbooks/dns.yaml",
                  lambda pb: pb["configuration"].__setitem__("zone_backup", "/proc/no/such/dir/zone.json"))
    plan = write_plan(plans, ["dns.yaml"])
    result = run_gameday(sandbox, "rehearse", str(plan), timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    events = events_of(tmp_path / "reports/dr/rehearsal/journal.jsonl")
    assert kinds(events, "dr_finished", "dns")[0]["failed_step"] == "backup: Back up the zone"


def test_rpo_is_non_zero_when_the_recovery_restores_an_older_backup(sandbox, tmp_path):
    """Both hosts lost: the primary comes back from the base backup, without what was written after it."""
    plan = write_plan(layout(tmp_path), ["database-cluster-from-backup.yaml"])
    result = run_gameday(sandbox, "run", str(plan), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    events = events_of(tmp_path / "reports/dr/journal.jsonl")
    finished = kinds(events, "dr_finished", "database-cluster-from-backup")[0]
    assert finished["failed_step"] is None and finished["recovered_at"] is not None, finished
    writes = kinds(events, "dr_writes", "database-cluster-from-backup")[0]
    assert writes["error"] is None and writes["lost"] > 0, writes  # written after the backup, gone for good
    # the base backup is consistent as of a moment between its start and its end: what is lost came after its start
    backup_began = [s for s in kinds(events, "dr_step", "database-cluster-from-backup") if s["phase"] == "backup"][0]["started"]
    assert writes["first_lost_at"] >= backup_began - 1.0
    assert finished["disaster_at"] - writes["first_lost_at"] > 0  # the RPO: a window of lost data
    # the target: a primary at the same place, a streaming replica, writes through the db record
    assert wait_cluster_streaming(sandbox) == {"primary_in_recovery": False, "streaming_replicas": 1}


def _signal_once_the_zone_is_gone(sandbox, tmp_path, sig: int, wait_seconds: int):  # type: ignore[no-untyped-def]
    """Run a DNS DR check whose recovery starts with a wait, and send ``sig`` to `gameday run` once the
    zone is gone. Returns the zone's records before, and the process's (code, output)."""
    records = zone_records(sandbox)
    code, output = stop_once_struck(sandbox, tmp_path, "dns.yaml", lambda env: db_srv(env) is None,
                                    lambda process: process.send_signal(sig), wait_seconds)
    return records, code, output


def test_an_interrupt_after_the_disaster_still_runs_the_recovery(sandbox, tmp_path):
    """Ctrl-C while the zone is gone: the automated recovery steps still run, the zone is back, the check is aborted."""
    import signal

    records, code, output = _signal_once_the_zone_is_gone(sandbox, tmp_path, signal.SIGINT, wait_seconds=4)
    assert code == 3, output
    events = events_of(tmp_path / "reports/dr/journal.jsonl")
    steps = {s["name"]: s["outcome"] for s in kinds(events, "dr_step", "dns")}
    assert steps["Restore the zone from its backup"] == "passed", steps
    assert kinds(events, "dr_finished", "dns") and kinds(events, "interrupted")
    assert zone_records(sandbox) == records  # the target, not our bookkeeping


def test_rpo_is_zero_when_the_recovery_loses_nothing(sandbox, tmp_path):
    """The primary shut down cleanly (its WAL reached the replica first), then the same promotion: nothing lost."""
    plans = layout(tmp_path)

    def clean_loss(pb):  # type: ignore[no-untyped-def]
        pb["disaster"]["inject"][0] = {"name": "Shut the primary down cleanly", "automated": {
            "type": "action", "name": "stop-primary",
            "provider": {"type": "python", "module": "gamedays.faults.local.pglocal", "func": "stop_server",
                         "arguments": {"data_dir": "${primary_data}"}}}}

    edit_playbook(tmp_path / "playbooks/database-cluster.yaml", clean_loss)
    plan = write_plan(plans, ["database-cluster.yaml"])
    result = run_gameday(sandbox, "run", str(plan), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    events = events_of(tmp_path / "reports/dr/journal.jsonl")
    finished = kinds(events, "dr_finished", "database-cluster")[0]
    assert finished["failed_step"] is None and finished["recovered_at"] is not None, finished
    writes = kinds(events, "dr_writes", "database-cluster")[0]
    assert writes["error"] is None and writes["acknowledged"] > 0 and writes["lost"] == 0, writes
    assert writes["first_lost_at"] is None
    assert wait_cluster_streaming(sandbox) == {"primary_in_recovery": False, "streaming_replicas": 1}
