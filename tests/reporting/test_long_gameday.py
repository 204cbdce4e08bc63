"""A one-hour gameday with 4 SLIs sampled every second: rendering stays quick and the HTML small."""

from __future__ import annotations

import time

from gamedays.reporting.render import render_report
from tests.reporting.htmlcheck import Page
from tests.reporting.journals import hour_long


def test_an_hour_of_samples_renders_quickly_into_a_small_page(tmp_path):
    hour_long(tmp_path)
    began = time.perf_counter()
    rendered = render_report(tmp_path)
    took = time.perf_counter() - began
    analysis = rendered.analysis
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    sizes = {p.name: p.stat().st_size for p in rendered.paths}
    print(f"\n1 h, 4 SLIs, {analysis.samples} samples: rendered in {took:.2f}s; sizes {sizes}")
    assert analysis.samples == 4 * 3601
    assert len(html) < 200_000
    parsed = Page(html)
    assert parsed.errors == []
    charts = parsed.find("svg", "sli-chart")
    assert len(charts) == 4
    latency = next(c for c in charts if c.attrs["data-key"] == "checkout-latency")
    flapping = next(s for s in analysis.series if s.slo == "checkout-latency")
    assert len(flapping.breaches) == 400  # every other second for 800 s
    assert parsed.inside(latency, "rect", "bad") < 20  # merged where they are less than a pixel apart
    assert all(len(s.buckets) <= 201 for s in analysis.series)
    pods = next(c for c in charts if c.attrs["data-key"] == "shop-ready-pods")
    assert "ready pods: mean, min–max" in " ".join(pods.text)
