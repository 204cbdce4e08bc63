"""Can a Chaos Toolkit activity's provider be found here, without running it (a rehearsal's precheck)?

python: the module imports and has the function; process: the program is on PATH
(or is a file); http: the URL is an http(s) URL or a ``${name}`` placeholder.
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any, Mapping

from gamedays.model.dr import DRStepOutcome


def provider_found(activity: Mapping[str, Any]) -> tuple[DRStepOutcome, str]:
    """Can the activity's provider be found here (without running it)?"""
    provider = activity.get("provider") or {}
    kind = provider.get("type")
    if kind == "python":
        module, func = str(provider.get("module")), str(provider.get("func"))
        try:
            loaded = importlib.import_module(module)
        except Exception as exc:
            return (DRStepOutcome.FAILED, f"module {module} does not import: {type(exc).__name__}: {exc}")
        if not callable(getattr(loaded, func, None)):
            return (DRStepOutcome.FAILED, f"module {module} has no function {func}")
        return (DRStepOutcome.PASSED, f"{module}.{func} found")
    if kind == "process":
        program = str(provider.get("path"))
        if shutil.which(program) is None and not Path(program).is_file():
            return (DRStepOutcome.FAILED, f"program {program} not found on PATH")
        return (DRStepOutcome.PASSED, f"program {program} found")
    if kind == "http":
        url = str(provider.get("url", ""))
        if not (url.startswith(("http://", "https://")) or url.startswith("${")):
            return (DRStepOutcome.FAILED, f"not an http(s) URL: {url}")
        return (DRStepOutcome.PASSED, "http provider (not called in a rehearsal)")
    return (DRStepOutcome.FAILED, f"unknown provider type {kind!r}")
