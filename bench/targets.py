"""The targets of a benchmark, each printed with its figure, and the one closing line every benchmark ends with.

    targets = Targets()
    targets.below("render, 2-hour gameday (median)", 0.61, 2.0, "s")
    targets.close()   # prints "targets: 1 met, 0 missed" and returns the exit code (0: all met)
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Targets:
    met: int = 0
    missed: int = 0
    names: list[str] = field(default_factory=list)

    def below(self, name: str, value: float, target: float, unit: str = "") -> bool:
        """``value`` must stay under ``target``; prints one row with the ratio."""
        return self._row(name, value, target, unit, value < target, "<")

    def above(self, name: str, value: float, target: float, unit: str = "") -> bool:
        """``value`` must reach at least ``target``."""
        return self._row(name, value, target, unit, value >= target, ">=")

    def _row(self, name: str, value: float, target: float, unit: str, ok: bool, op: str) -> bool:
        ratio = value / target if target else float("inf")
        verdict = "met" if ok else "MISSED"
        print(f"target  {name:56} {value:10.3f}{unit:<3} {op}{target:g}{unit}  ratio {ratio:6.2f}  {verdict}")
        if ok:
            self.met += 1
        else:
            self.missed += 1
            self.names.append(name)
        return ok

    def close(self) -> int:
        print(f"targets: {self.met} met, {self.missed} missed")
        return 0 if self.missed == 0 else 1
