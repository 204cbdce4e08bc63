"""Test support shared by the test folders: the repository, a valid plan, a tree of demo files."""

from __future__ import annotations

import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

VALID_PLAN = """\
gameday: "2024-05"
title: "May 2024"
date: 2024-05-21
environment: sandbox
components:
  - {kind: database-cluster, name: shop-db}
team:
  commander: sre-oncall
slos: ../probes/slos.yaml
guardrails:
  abort_when: [checkout-availability]
experiments:
  - id: api-pod-loss
    uses: ../experiments/kubernetes/pod-kill.yaml
    with: {namespace: shop, qty: 1}
    hypothesis: [checkout-availability]
    recover_within: 30s
disaster_recovery:
  - playbook: ../playbooks/database-cluster.yaml
"""


class Tree:
    """A folder holding probes/, experiments/, playbooks/ like the repository's, and plans/ to fill."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def plan(self, text: str = VALID_PLAN, name: str = "plans/p.yaml") -> Path:
        return self.write(name, text)


def line_of(where: Path | str, needle: str) -> int:
    """The 1-based number of the first line holding ``needle``, of a file or of a text: tests name lines
    by content, never by number."""
    text = where.read_text(encoding="utf-8") if isinstance(where, Path) else where
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in {where if isinstance(where, Path) else 'the text'}")


#: An SLO catalog of one HTTP SLI on ``${API_URL}`` (a local server), for rehearsals on a named environment.
API_CATALOG = """\
slos:
  - name: api
    service: api
    kind: availability
    description: The API answers.
    sli: {{source: http, url: "${{API_URL}}/healthz", timeout: {timeout}}}
    objective: 99%
    external_objective: 98%
    window: 30d
"""

#: An experiment that injects nothing anywhere: its one action checks that a path exists.
HARMLESS_EXPERIMENT = {
    "title": "A harmless experiment",
    "description": "Its one action checks that a path exists (not even that in a rehearsal).",
    "extensions": [{"name": "gameday", "reach": ["local-host"]}],
    "method": [{"type": "action", "name": "look", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "."}}}],
}
