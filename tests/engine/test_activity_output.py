"""Activity outputs in a Chaos Toolkit journal: cut past the limit, with a marker, whole in a capped log."""

from __future__ import annotations

from pathlib import Path

from gamedays.engine.activity_output import CUT_MARKER, bound_outputs


def journal(*outputs: object) -> dict:
    runs = [{"activity": {"name": f"a{i}"}, "output": out} for i, out in enumerate(outputs)]
    return {"steady_states": {"before": {"probes": [dict(runs[0])]}, "after": None}, "run": runs, "rollbacks": []}


def test_small_outputs_are_kept_as_they_are(tmp_path: Path):
    log = tmp_path / "out.log"
    bounded = bound_outputs(journal({"status": 0}, "ok"), log, limit=100)
    assert [r["output"] for r in bounded["run"]] == [{"status": 0}, "ok"]
    assert not log.exists()


def test_an_output_past_the_limit_is_cut_and_the_log_keeps_it_up_to_its_cap(tmp_path: Path):
    log = tmp_path / "out.log"
    bounded = bound_outputs(journal("a" * 500, "b" * 5000), log, limit=100, cap=2000)
    first, second = (r["output"] for r in bounded["run"])
    assert first.startswith("a" * 100) and CUT_MARKER in first and "400 of 500 characters cut; in full in out.log" in first
    assert "not kept: out.log is capped at 2000 bytes" in second and second.startswith("b" * 100)
    assert CUT_MARKER in bounded["steady_states"]["before"]["probes"][0]["output"]
    text = log.read_text()
    assert "a" * 500 in text and "b" * 200 not in text and "not written: the log is capped at 2000 bytes" in text
    assert log.stat().st_size <= 2000 + 200
