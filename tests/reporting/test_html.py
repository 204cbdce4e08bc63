"""report.html: one self-contained, well-formed, escaped page; a chart per SLI; the team named."""

from __future__ import annotations

import re

import pytest

from gamedays.reporting.render import render_report
from tests.reporting.htmlcheck import Page
from tests.reporting.journals import HOSTILE, SCENARIOS

FETCHING = {"script", "link", "img", "iframe", "object", "embed", "audio", "video", "source", "use", "image", "base", "form"}


def page(make, name: str) -> tuple[Page, str, object]:
    folder = make(name)
    rendered = render_report(folder, ["html"])
    html = (folder / "report.html").read_text(encoding="utf-8")
    parsed = Page(html)
    assert parsed.errors == []
    return parsed, html, rendered


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_page_is_well_formed_and_fetches_nothing(make, name):
    parsed, html, _ = page(make, name)
    assert [e.tag for e in parsed.elements[:1]] == ["html"]
    assert not [e.tag for e in parsed.elements if e.tag in FETCHING]
    for element in parsed.elements:
        assert "src" not in element.attrs and "srcset" not in element.attrs
        assert not any(name.startswith("on") for name in element.attrs), element
        for attribute, value in element.attrs.items():
            assert not re.search(r"(https?:|//|javascript:|url\()", value, re.I), (element.tag, attribute, value)
        if "href" in element.attrs:
            href = element.attrs["href"]
            assert href.startswith("#") or re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._/-]*", href), href
    assert "@import" not in html and "url(" not in html
    csp = [e for e in parsed.find("meta") if e.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert csp and csp[0].attrs["content"].startswith("default-src 'none'")


@pytest.mark.parametrize("name", ["passing", "deviated", "crashed"])
def test_one_chart_per_sli_and_the_team_named(make, name):
    parsed, _, rendered = page(make, name)
    charts = parsed.find("svg", "sli-chart")
    assert [c.attrs["data-key"] for c in charts] == [s.name for s in rendered.analysis.slos]
    assert len(parsed.find("svg", "budget-chart")) == 1
    text = parsed.all_text
    assert "Commander" in text and "alice — ran the gameday and called the aborts" in re.sub(r"\s+", " ", text)
    assert "bob — kept the timeline" in re.sub(r"\s+", " ", text) and "carol, dave" in text
    summary = parsed.find("dl", "facts")[0]
    facts = " ".join(summary.text)
    for fact in ("2024-05", "2024-05-21", "sandbox", "run"):
        assert fact in facts


def test_the_charts_shade_every_fault_and_mark_the_bad_samples_and_the_objective(make):
    parsed, _, rendered = page(make, "deviated")
    steps_with_a_fault = [s for s in rendered.analysis.steps if s.fault_start is not None]
    assert len(steps_with_a_fault) == 3
    for svg in parsed.find("svg", "sli-chart"):
        assert parsed.inside(svg, "rect", "fault") == 3
        assert parsed.inside(svg, "rect", "bad") >= 1
        assert parsed.inside(svg, "line", "objective") == 1
        assert parsed.inside(svg, "path", "mean") == 1  # latency values are plotted
    checkout = parsed.find("svg", "sli-chart")[0]
    assert parsed.inside(checkout, "rect", "bad") == 2  # the two breaches of checkout-availability
    assert "objective 99.95%" in " ".join(checkout.text)


def test_a_guardrail_abort_is_drawn_and_told_with_its_latency(make):
    parsed, _, _ = page(make, "aborted")
    checkout = parsed.find("svg", "sli-chart")[0]
    assert parsed.inside(checkout, "line", "abort") == 1
    text = re.sub(r"\s+", " ", parsed.all_text)
    assert "Guardrail abort" in text and "detection to abort 0.10s" in text
    assert "checkout-availability (slo_breach): breach from 10:00:12, detected 10:00:15, abort asked 10:00:15" in text


def test_a_crashed_run_is_marked_and_its_open_fault_drawn_to_the_end(make):
    parsed, _, _ = page(make, "crashed")
    text = re.sub(r"\s+", " ", parsed.all_text)
    assert "Outcome aborted · exit code 3" in text
    assert "Incomplete run: journal.jsonl ends without gameday_finished" in text
    assert "Faults possibly still in place: all-pods." in text
    svg = parsed.find("svg", "sli-chart")[0]
    assert parsed.inside(svg, "rect", "open") == 1
    assert "journal ends" in " ".join(svg.text)
    assert [e.text for e in parsed.find("span", "badge")][-3:] == [["passed"], ["unfinished"], ["skipped"]]


def test_an_interrupted_run_and_a_torn_journal_say_so(make):
    text = re.sub(r"\s+", " ", page(make, "interrupted")[0].all_text)
    assert "Interrupted by SIGINT: the gameday stopped before its end." in text
    text = re.sub(r"\s+", " ", page(make, "torn")[0].all_text)
    assert "The last line of journal.jsonl was cut short (a crash mid-write) and was left out." in text


def test_a_rehearsal_says_nothing_was_injected_and_draws_dry_windows(make):
    parsed, _, _ = page(make, "rehearsal")
    text = re.sub(r"\s+", " ", parsed.all_text)
    assert "Rehearsal: every experiment ran dry" in text and "rehearsal (dry run: no fault injected)" in text
    svg = parsed.find("svg", "sli-chart")[0]
    assert parsed.inside(svg, "rect", "dry") == 2


def test_text_from_the_journal_is_escaped(make):
    parsed, html, _ = page(make, "hostile")
    assert "<script" not in html and "<b>" not in html and "onerror" not in [a for e in parsed.elements for a in e.attrs]
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert HOSTILE in parsed.all_text  # what people read is the text as written
    assert "<img src=x onerror=alert(1)>" in parsed.all_text and not parsed.find("img")
    assert not [e for e in parsed.elements if e.attrs.get("href", "").startswith("javascript")]
    assert "javascript:alert(1)" in parsed.all_text  # the unsafe journal path is shown, not linked
    assert "\x07" not in html and "\x1b" not in html


def test_the_journal_of_each_experiment_is_linked_relatively(make):
    parsed, _, _ = page(make, "passing")
    links = [e.attrs["href"] for e in parsed.find("a") if not e.attrs["href"].startswith("#")]
    assert links == ["experiments/pod-kill.journal.json", "experiments/dns-loss.journal.json"]
