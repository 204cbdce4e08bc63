"""The pure parts: selectors, patches, the store's versions and watch history, watch translation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamedays.sandbox.kube.errors import ApiError
from gamedays.sandbox.kube.patch import JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, apply_patch
from gamedays.sandbox.kube.selectors import FieldSelector, LabelSelector, SelectorError
from gamedays.sandbox.kube.store import Closed, Store
from gamedays.sandbox.kube.watch import WatchRequest, stream

LABELS = {"app": "web", "tier": "front", "track": "stable"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("app=web", True),
        ("app==web,tier=front", True),
        ("app!=web", False),
        ("app in (web, api)", True),
        ("app notin (web)", False),
        ("tier,track", True),
        ("!canary", True),
        ("!app", False),
        ("app in (api),tier", False),
        ("missing!=x", True),
    ],
)
def test_label_selector_semantics(text: str, expected: bool):
    assert LabelSelector.parse(text).matches(LABELS) is expected


@pytest.mark.parametrize("text", ["app in (", "app in ()", "a,,b", "app=we b", "bad key=1", "app)"])
def test_label_selector_errors(text: str):
    with pytest.raises(SelectorError):
        LabelSelector.parse(text)


def test_label_selector_objects():
    selector = LabelSelector.from_object(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front"]},
                {"key": "canary", "operator": "DoesNotExist"},
            ],
        }
    )
    assert selector.matches(LABELS) and not selector.matches({"app": "web"})
    assert LabelSelector.from_object({}).matches({}) and LabelSelector.from_object(None).matches(None)
    with pytest.raises(SelectorError):
        LabelSelector.from_object({"matchExpressions": [{"key": "a", "operator": "Near"}]})


@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,5}", fullmatch=True), st.from_regex(r"[a-z0-9]{0,5}", fullmatch=True), max_size=4
    )
)
def test_equality_selector_of_a_label_set_matches_it(labels: dict[str, str]):
    text = ",".join(f"{k}={v}" for k, v in labels.items())
    assert LabelSelector.parse(text).matches(labels)
    assert LabelSelector.from_object({"matchLabels": labels}).matches(labels)


def test_field_selectors():
    pod = {
        "metadata": {"name": "p"},
        "spec": {"nodeName": "n1", "unschedulable": False},
        "status": {"phase": "Running"},
    }
    supported = frozenset({"metadata.name", "spec.nodeName", "status.phase", "spec.unschedulable"})
    assert FieldSelector.parse("spec.nodeName=n1,status.phase!=Pending", supported).matches(pod)
    assert not FieldSelector.parse("metadata.name==q", supported).matches(pod)
    assert FieldSelector.parse("spec.unschedulable=false", supported).matches(pod)
    with pytest.raises(SelectorError, match='field label not supported: "spec.other"'):
        FieldSelector.parse("spec.other=1", supported)


def test_patches():
    doc = {
        "spec": {
            "replicas": 3,
            "template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}},
        }
    }
    scaled = apply_patch(doc, {"spec": {"replicas": 0}}, STRATEGIC_MERGE_PATCH)
    assert scaled["spec"]["replicas"] == 0 and doc["spec"]["replicas"] == 3
    strategic = apply_patch(
        doc, {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "z"}]}}}}, STRATEGIC_MERGE_PATCH
    )
    assert strategic["spec"]["template"]["spec"]["containers"] == [
        {"name": "a", "image": "x"},
        {"name": "b", "image": "z"},
    ]
    merged = apply_patch(
        doc, {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "z"}]}}}}, MERGE_PATCH
    )
    assert merged["spec"]["template"]["spec"]["containers"] == [{"name": "b", "image": "z"}]
    assert "replicas" not in apply_patch(doc, {"spec": {"replicas": None}}, MERGE_PATCH)["spec"]
    ops = [
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "add", "path": "/metadata", "value": {}},
        {"op": "add", "path": "/metadata/labels~1x", "value": "1"},
        {"op": "test", "path": "/spec/replicas", "value": 5},
    ]
    assert apply_patch(doc, ops, JSON_PATCH)["metadata"] == {"labels/x": "1"}
    with pytest.raises(ApiError) as failed:
        apply_patch(doc, [{"op": "test", "path": "/spec/replicas", "value": 1}], JSON_PATCH)
    assert failed.value.code == 400
    with pytest.raises(ApiError) as media:
        apply_patch(doc, {}, "application/apply-patch+yaml")
    assert media.value.code == 415


def _pod(name: str, labels: dict[str, str] | None = None) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "labels": labels or {}}, "spec": {"x": 1}}


def test_store_versions_generation_and_conflicts():
    store = Store()
    created = store.create("pods", _pod("a"))
    assert created["metadata"]["resourceVersion"] == "1" and created["metadata"]["generation"] == 1
    with pytest.raises(ApiError) as exists:
        store.create("pods", _pod("a"))
    assert exists.value.code == 409 and exists.value.reason == "AlreadyExists"
    same = store.update("pods", created)
    assert same["metadata"]["resourceVersion"] == "1"  # no change, no write
    relabelled = store.mutate("pods", "ns", "a", lambda p: {**p, "metadata": {**p["metadata"], "labels": {"x": "1"}}})
    assert relabelled["metadata"]["resourceVersion"] == "2" and relabelled["metadata"]["generation"] == 1
    respec = store.mutate("pods", "ns", "a", lambda p: {**p, "spec": {"x": 2}})
    assert respec["metadata"]["generation"] == 2 and respec["metadata"]["uid"] == created["metadata"]["uid"]
    with pytest.raises(ApiError) as stale:
        store.update("pods", created, check_version=True)
    assert stale.value.reason == "Conflict"
    assert store.delete("pods", "ns", "a", uid="another") is None
    gone = store.delete("pods", "ns", "a")
    assert gone["metadata"]["resourceVersion"] == "4" and store.get("pods", "ns", "a") is None


def test_store_history_and_expiry():
    store = Store(history=3)
    for name in "abcde":
        store.create("pods", _pod(name))
    events, version = store.events_after(3, 0)
    assert [e.obj["metadata"]["name"] for e in events] == ["d", "e"] and version == 5
    assert store.events_after(5, 0.05) == ([], 5)
    with pytest.raises(ApiError) as expired:
        store.events_after(1, 0)
    assert expired.value.code == 410
    store.close()
    with pytest.raises(Closed):
        store.events_after(5, 1.0)


def test_watch_translates_selector_changes_and_expiry():
    store = Store(history=4)
    store.create("pods", _pod("a", {"app": "web"}))
    store.mutate("pods", "ns", "a", lambda p: {**p, "metadata": {**p["metadata"], "labels": {"app": "other"}}})
    store.mutate("pods", "ns", "a", lambda p: {**p, "metadata": {**p["metadata"], "labels": {"app": "web"}}})
    store.delete("pods", "ns", "a")
    selector = LabelSelector.parse("app=web")
    request = WatchRequest("pods", lambda o: selector.matches(o["metadata"]["labels"]), lambda o: o, 0, 0.2)
    seen = [(e["type"], e["object"]["metadata"]["labels"]["app"]) for e in stream(store, request, lambda: True)]
    assert seen == [("ADDED", "web"), ("DELETED", "other"), ("ADDED", "web"), ("DELETED", "web")]
    for name in "bcdef":
        store.create("pods", _pod(name))
    expired = list(stream(store, WatchRequest("pods", lambda o: True, lambda o: o, 1, 1.0), lambda: True))
    assert [e["type"] for e in expired] == ["ERROR"] and expired[0]["object"]["code"] == 410
