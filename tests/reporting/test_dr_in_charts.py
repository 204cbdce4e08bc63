"""A DR check's disaster is a fault window too: every SLI chart shades it, from the disaster to the recovery."""

from __future__ import annotations

import re

from gamedays.reporting.render import render_report


def test_every_sli_chart_shades_each_dr_check_from_disaster_to_recovery(make):
    folder = make("dr")
    render_report(folder)
    html = (folder / "report.html").read_text()
    charts = re.findall(r'<svg[^>]*class="sli-chart".*?</svg>', html, re.S)
    assert charts
    for chart in charts:
        assert re.search(r'class="drwin"><title>DR database-cluster: disaster to recovery \d\d:\d\d:\d\d–\d\d:\d\d:\d\d', chart)
        assert "DR kubernetes-cluster: disaster to recovery" in chart and "not recovered" in chart  # its step failed
