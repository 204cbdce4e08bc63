"""report.md: the same content as the HTML for a pull request, escaped for Markdown."""

from __future__ import annotations

import re

from gamedays.reporting.render import render_report
from gamedays.reporting.templating import markdown_escape
from tests.reporting.journals import HOSTILE


def markdown(make, name):
    folder = make(name)
    render_report(folder, ["md"])
    return (folder / "report.md").read_text(encoding="utf-8")


def test_the_sections_of_the_report(make):
    text = markdown(make, "deviated")
    assert re.findall(r"^#{1,3} .*", text, re.M)[:4] == [
        "# Gameday 2024-05: May 2024: the shop under stress", "## Summary", "### Team", "### Experiments",
    ]
    for heading in ("## Service level indicators", "### checkout-availability (shop, availability, http)",
                    "## Error budget", "## Experiments", "### 2. db-failover: The shop survives db-failover — DEVIATED",
                    "## Follow-up actions"):
        assert f"\n{heading}\n" in text
    assert "**Outcome: DEVIATED** · exit code 1 · 2024-05-21 · environment sandbox · run\n" in text
    assert "- Commander: alice — ran the gameday and called the aborts" in text
    assert "- Scribe: bob — kept the timeline and the notes\n" in text and "- Participants: carol, dave\n" in text
    assert "- Time to recover: 11.2s (recover within 5.0s: **missed**)\n" in text
    assert "| dns-resolution | dns | 99.99% | 40 / 128 | 15.43% (40.0s of 4m19s) | **over the allowance** |" in text
    assert "\n\n\n" not in text


def test_the_samples_as_a_strip_of_blocks(make):
    text = markdown(make, "deviated")
    strips = re.findall(r"^`([ ▁▂▃▄▅▆▇█]{60})`$", text, re.M)
    assert len(strips) == 2
    assert "█" in strips[0] and set(strips[1]) <= set("▁▂▃▄▅▆▇█")


def test_tables_keep_one_row_per_step_and_text_is_escaped(make):
    text = markdown(make, "hostile")
    assert "<script>" not in text and "<b>" not in text
    assert r"\<script\>alert(\"x\")" not in text  # quotes need no escape
    assert r"\<script\>alert(" in text and r"\| \*star\* \_under\_" in text
    rows = [line for line in text.splitlines() if line.startswith("| 1 |")]
    assert len(rows) == 1 and rows[0].count(" | ") == 5 and rows[0].endswith(" |")
    assert "\x1b" not in text and "\x07" not in text


def test_markdown_escape():
    assert markdown_escape("a|b *c* _d_ [e](f) <g> & `h` #i ~j~ \\k") == (
        r"a\|b \*c\* \_d\_ \[e\](f) \<g\> \& \`h\` \#i \~j\~ \\k"
    )
    assert markdown_escape("two\nlines\r\n  here") == "two lines here"
    assert markdown_escape(None) == "" and markdown_escape(3) == "3"
    assert HOSTILE.replace("<", "") not in markdown_escape(HOSTILE)
