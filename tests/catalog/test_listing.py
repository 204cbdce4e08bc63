"""`list_catalog` lists every experiment file with its parameters; `render_table` shows them to plan authors."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from gamedays.loading.catalog import (
    CatalogEntry,
    Parameter,
    first_sentence,
    list_catalog,
    render_table,
)
from gamedays.model.errors import InvalidInput
from gamedays.model.reach import Reach

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "experiments"


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


MINIMAL = """\
    title: A minimal experiment
    description: Breaks nothing at all. It is a test.
    tags: [test]
    extensions:
      - {name: other-tool, anything: [goes]}
      - name: gameday
        reach: [kubernetes, aws]
        permissions:
          kubernetes: ["list pods"]
          aws: ["ec2:DescribeInstances"]
    configuration:
      hold: 2
      url: {type: env, key: SOME_URL, default: "http://127.0.0.1:1"}
      secret_dsn: {type: env, key: SOME_DSN}
    method: []
    rollbacks:
      - {type: action, name: undo, provider: {type: process, path: "true"}}
"""


def test_every_file_of_the_repository_catalog_is_listed_once():
    entries = list_catalog(CATALOG)
    files = sorted(p.relative_to(CATALOG).with_suffix("").as_posix() for p in CATALOG.rglob("*.yaml"))
    assert [e.id for e in entries] == files
    assert {e.target for e in entries} == {"kubernetes", "database", "dns", "aws"}
    for entry in entries:
        assert entry.target == entry.tags[0]  # what it breaks; its folder tells where it acts
        assert entry.title and entry.summary.endswith((".", "?", "!")), entry.id
        assert entry.tags, entry.id
        assert entry.path == CATALOG / f"{entry.id}.yaml"


def test_parameters_come_with_their_defaults_and_environment_variables():
    by_id = {e.id: e for e in list_catalog(CATALOG)}
    pod_kill = by_id["kubernetes/pod-kill"]
    assert pod_kill.parameters == (
        Parameter("namespace", "default"),
        Parameter("label_selector", "app=shop-api"),
        Parameter("qty", 1),
    )
    assert pod_kill.has_rollbacks is False
    failover = by_id["local/postgres-primary-failover"]
    assert failover.has_rollbacks is True
    assert failover.parameter("primary_data") == Parameter("primary_data", None, "SANDBOX_PG_PRIMARY_DATA", False)
    assert failover.parameter("dns_server") == Parameter("dns_server", "127.0.0.1:53", "SANDBOX_DNS", True)
    assert failover.parameter("record").default == "db"
    assert failover.summary == (
        "Kills the PostgreSQL primary, promotes its streaming replica and moves the db SRV record to the replica."
    )
    removal = by_id["dns/record-removal"]
    assert [p.name for p in removal.parameters] == [
        "dns_server", "zone", "record", "rdtype", "hold_seconds", "backup", "shop_url",
    ]  # fmt: skip
    with pytest.raises(KeyError, match="has no parameter 'nope'; it has: dns_server, zone"):
        removal.parameter("nope")


def test_the_table_shows_each_experiment_what_it_breaks_and_how_to_set_it():
    entries = list_catalog(CATALOG)
    table = render_table(entries)
    lines = table.splitlines()
    assert lines[0].split() == ["ID", "TARGET", "REACH", "ROLLBACK", "TAGS"]
    assert lines[-1] == f"{len(entries)} experiments"
    for entry in entries:
        row = next(line for line in lines if line.startswith(entry.id + " "))
        reach = ",".join(r.value for r in entry.reach)
        assert row.split()[1:4] == [entry.target, reach, "yes" if entry.has_rollbacks else "no"]
    assert "    with: namespace=default, label_selector=app=shop-api, qty=1" in lines
    assert "    needs: kubernetes: list pods, delete pods" in lines  # pod-kill's permissions, beneath its parameters
    flat = " ".join(table.split())
    assert "primary_data=$SANDBOX_PG_PRIMARY_DATA (required)" in flat
    assert "shop_url=$SHOP_URL (default http://127.0.0.1:8080)" in flat
    assert all(len(line) <= 100 for line in lines if not line.startswith(tuple(e.id for e in entries)))


def test_a_team_catalog_with_its_own_folders_yaml_and_json(tmp_path: Path):
    write(tmp_path, "queues/broker-loss.yaml", MINIMAL)
    (tmp_path / "top.json").write_text(json.dumps({"title": "Top level", "description": "Sits at the root. Yes.", "extensions": [{"name": "gameday", "reach": []}]}))
    write(tmp_path, ".drafts/hidden.yaml", "not: [an experiment")
    write(tmp_path, "queues/notes.txt", "ignored")
    entries = list_catalog(tmp_path)
    assert [e.id for e in entries] == ["queues/broker-loss", "top"]
    broker, top = entries
    assert broker == CatalogEntry(
        id="queues/broker-loss",
        path=tmp_path / "queues/broker-loss.yaml",
        target="test",
        title="A minimal experiment",
        summary="Breaks nothing at all.",
        tags=("test",),
        parameters=(
            Parameter("hold", 2),
            Parameter("url", "http://127.0.0.1:1", "SOME_URL"),
            Parameter("secret_dsn", None, "SOME_DSN", has_default=False),
        ),
        has_rollbacks=True,
        reach=(Reach.KUBERNETES, Reach.AWS),
        permissions={Reach.KUBERNETES: ("list pods",), Reach.AWS: ("ec2:DescribeInstances",)},
    )
    assert (top.target, top.summary, top.parameters, top.has_rollbacks) == ("any", "Sits at the root.", (), False)
    assert (top.reach, top.describe_reach(), top.describe_permissions()) == ((), "none", "none")
    assert broker.describe_permissions() == "kubernetes: list pods; aws: ec2:DescribeInstances"
    listed = json.loads(json.dumps(broker.to_dict()))
    assert (listed["reach"], listed["permissions"]) == (
        ["kubernetes", "aws"], {"kubernetes": ["list pods"], "aws": ["ec2:DescribeInstances"]}
    )
    assert json.loads(json.dumps(broker.to_dict()))["parameters"] == [
        {"name": "hold", "default": 2},
        {"name": "url", "env": "SOME_URL", "default": "http://127.0.0.1:1"},
        {"name": "secret_dsn", "env": "SOME_DSN"},
    ]


def test_every_file_that_cannot_be_listed_is_reported_at_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # messages name files relative to the working directory
    write(tmp_path, "a/bad-yaml.yaml", "title: x\ndescription: [unclosed\n")
    write(tmp_path, "a/no-title.yaml", "description: Something.\ntags: oops\nconfiguration:\n  u: {type: env}\n")
    write(tmp_path, "b/list.yaml", "- just\n- a list\n")
    (tmp_path / "b/broken.json").write_text('{"title": "t",\n')
    write(tmp_path, "c/fine.yaml", MINIMAL)
    with pytest.raises(InvalidInput) as caught:
        list_catalog(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        "a/bad-yaml.yaml:3: invalid YAML: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence)",
        "a/no-title.yaml:1: an experiment needs a title (text)",
        "a/no-title.yaml:1: the experiment declares no reach: declare it in the experiment's extensions: "
        "- {name: gameday, reach: [...], permissions: {...}} "
        "(reach allowed: sandbox, local-host, postgres, kubernetes, aws, rfc2136)",
        "a/no-title.yaml:2: tags must be a list of words",
        "a/no-title.yaml:4: an env value needs a key: the variable's name",
        "b/broken.json:2: invalid JSON: Expecting property name enclosed in double quotes",
        "b/list.yaml:1: not an experiment: expected a mapping with title, description, method",
    ]


def test_two_files_with_the_same_id_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "k/loss.yaml", MINIMAL)
    (tmp_path / "k/loss.json").write_text(json.dumps({"title": "Same id", "extensions": [{"name": "gameday", "reach": ["sandbox"]}]}))
    with pytest.raises(InvalidInput, match=r"k/loss.yaml: same id 'k/loss' as k/loss.json: rename one"):
        list_catalog(tmp_path)


def test_an_empty_or_missing_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert list_catalog(tmp_path) == ()
    assert render_table(()) == "the catalog is empty: no experiment files"
    with pytest.raises(InvalidInput, match="nowhere: no experiment catalog here: the folder does not exist"):
        list_catalog(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("Kills a pod. Then waits.", "Kills a pod."),
        ("Uses chaosk8s.pod.actions terminate_pods, e.g. for a canary. More.", "Uses chaosk8s.pod.actions terminate_pods, e.g. for a canary."),
        ("Fails over to a reader instance. chaosaws needs a target.", "Fails over to a reader instance."),
        ("  Spread\n  over lines.  ", "Spread over lines."),
        ("No full stop", "No full stop"),
        ("", ""),
    ],
)
def test_what_it_breaks_is_the_descriptions_first_sentence(text: str, sentence: str):
    assert first_sentence(text) == sentence


def test_a_missing_or_unknown_reach_is_refused_at_its_line_naming_the_allowed_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    body = "title: T\ndescription: D.\nmethod: []\n"
    write(tmp_path, "a/none.yaml", body)
    write(tmp_path, "a/other-tool-only.yaml", body + "extensions:\n  - {name: chaosreliably}\n")
    write(tmp_path, "a/unknown.yaml", body + "extensions:\n  - name: gameday\n    reach: [kubernetes, local]\n")
    write(tmp_path, "a/typo.yaml", body + "extensions:\n  - name: gameday\n    reach: [aws]\n    permission: {aws: []}\n")
    write(
        tmp_path, "a/outside.yaml",
        body + "extensions:\n  - name: gameday\n    reach: [aws]\n    permissions:\n      kubernetes: [list pods]\n",
    )
    write(tmp_path, "a/twice.yaml", body + "extensions:\n  - {name: gameday, reach: [aws]}\n  - {name: gameday, reach: [aws]}\n")
    write(tmp_path, "a/not-a-list.yaml", body + "extensions: {name: gameday}\n")
    write(tmp_path, "a/key.yaml", body + "extensions:\n  - name: gameday\n    reach: [aws]\n    permissions:\n      k8s: [list pods]\n")
    with pytest.raises(InvalidInput) as caught:
        list_catalog(tmp_path)
    declare = (
        "the experiment declares no reach: declare it in the experiment's extensions: "
        "- {name: gameday, reach: [...], permissions: {...}} "
        "(reach allowed: sandbox, local-host, postgres, kubernetes, aws, rfc2136)"
    )
    assert [str(p) for p in caught.value.problems] == [
        "a/key.yaml:8: extensions[0].permissions.k8s: 'k8s' is not allowed; "
        "allowed: sandbox, local-host, postgres, kubernetes, aws, rfc2136",
        f"a/none.yaml:1: {declare}",
        "a/not-a-list.yaml:4: extensions must be a list of mappings, each with a name",
        f"a/other-tool-only.yaml:4: {declare}",
        "a/outside.yaml:7: extensions[0].permissions: permissions for kubernetes, which is not in reach (declared: aws)",
        "a/twice.yaml:6: a second 'gameday' extension (the first is at line 5): keep one",
        "a/typo.yaml:7: extensions[0]: unknown key 'permission' (did you mean 'permissions'?); allowed: reach, permissions, name",
        "a/unknown.yaml:6: extensions[0].reach[1]: 'local' is not allowed (did you mean 'local-host'?); "
        "allowed: sandbox, local-host, postgres, kubernetes, aws, rfc2136",
    ]


def test_every_repository_entry_declares_its_reach_and_the_permissions_it_needs_there():
    for entry in list_catalog(CATALOG):
        assert entry.reach, entry.id  # every catalog experiment acts somewhere
        for reach in entry.reach:
            assert entry.permissions.get(reach), f"{entry.id}: no permissions for {reach.value}"
