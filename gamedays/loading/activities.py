"""Validate Chaos Toolkit activities without importing the extensions they call.

chaoslib's ``validate_python_activity`` imports each activity's module to check
that the function exists and that the activity's arguments bind to its
signature. Importing ``chaosk8s`` costs about a second and pulls in the
kubernetes client (``chaosaws`` pulls boto3), which ``gameday validate`` must
not pay. So python activities are checked here with the same rules, read from
the module's source with :mod:`ast` (module found, function defined, arguments
bind), and chaoslib validates everything else of the activity. When the source
cannot settle the question (a function made at import time, a C extension),
chaoslib's own import-based check runs instead.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHECKED_MODULE = "gamedays.loading.activities"
CHECKED_FUNC = "statically_checked"


def statically_checked(**arguments: Any) -> None:
    """Stands in, during validation only, for a python activity already checked from source."""
    raise RuntimeError("validation placeholder: never run")


class Unresolved(Exception):
    """The module's source does not tell whether the function exists."""


@dataclass(frozen=True)
class _Source:
    path: Path
    tree: ast.Module


def check_python_provider(activity_name: str, provider: dict[str, Any]) -> str | None:
    """chaoslib's checks of a python provider, from source. ``None`` when valid, else the reason.

    Raises :class:`Unresolved` when only importing the module could tell.
    """
    module = provider.get("module")
    if not module:
        return "a Python activity must have a module path"
    func = provider.get("func")
    if not func:
        return "a Python activity must have a function name"
    source = _find_source(str(module))
    if source is None:
        return f"could not find Python module '{module}' in activity '{activity_name}'"
    node = _find_function(source, str(func), depth=0)
    if node is None:
        return f"The python module '{module}' does not expose a function called '{func}' in activity '{activity_name}'"
    arguments = provider.get("arguments") or {}
    if not isinstance(arguments, dict):
        return f"arguments of activity '{activity_name}' must be a mapping"
    return _bind(_signature(node), arguments, str(func))


def validation_copy(activity: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``activity`` for chaoslib's validator, once its python provider passed the source check."""
    checked = copy.deepcopy(activity)
    provider = checked["provider"]
    provider["module"] = CHECKED_MODULE
    provider["func"] = CHECKED_FUNC
    return checked


def _bind(sig: inspect.Signature, arguments: dict[str, Any], func: str) -> str | None:
    args = dict(arguments)
    for injected in ("secrets", "configuration"):
        if injected in sig.parameters:
            args[injected] = None
    try:
        sig.bind(**args)
    except TypeError as exc:
        msg = str(exc)
        if "missing" in msg:
            arg = msg.rsplit(":", 1)[1].strip()
            return f"required argument {arg} is missing from activity '{func}'"
        if "unexpected" in msg:
            arg = msg.rsplit(" ", 1)[1].strip()
            return f"argument {arg} is not part of the function signature in activity '{func}'"
        return f"arguments do not match the signature of '{func}': {msg}"
    return None


def _find_source(module: str) -> _Source | None:
    parts = module.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])  # locates a top-level package without running it
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if len(parts) == 1:
        return _parse(spec.origin)
    if spec.submodule_search_locations is None:
        raise Unresolved(module)  # a plain module with attributes that look like submodules (os.path)
    locations = list(spec.submodule_search_locations)
    for index, part in enumerate(parts[1:], start=1):
        last = index == len(parts) - 1
        found = None
        for base in locations:
            package = Path(base, part)
            if (package / "__init__.py").is_file():
                found = ("package", package)
                break
            if Path(base, f"{part}.py").is_file() and last:
                found = ("module", Path(base, f"{part}.py"))
                break
        if found is None:
            if any(Path(base, part).is_dir() or any(Path(base).glob(f"{part}.*")) for base in locations):
                raise Unresolved(module)  # a namespace package or a compiled module: only importing tells
            return None
        kind, where = found
        if last:
            return _parse(str(where / "__init__.py") if kind == "package" else str(where))
        locations = [str(where)]
    return None


def _parse(origin: str | None) -> _Source:
    if not origin or not origin.endswith(".py"):
        raise Unresolved(origin or "")
    path = Path(origin)
    try:
        return _Source(path, ast.parse(path.read_text(encoding="utf-8"), filename=origin))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise Unresolved(origin) from exc


def _find_function(source: _Source, func: str, depth: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """A top-level ``def func`` of the module, following ``from x import func`` re-exports."""
    for statement in source.tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == func:
            return statement
    for node in ast.walk(source.tree):
        if isinstance(node, ast.ImportFrom) and depth < 4:
            for alias in node.names:
                if (alias.asname or alias.name) == func and node.module and node.level == 0:
                    target = _find_source(node.module)
                    if target is None:
                        return None
                    return _find_function(target, alias.name, depth + 1)
                if alias.name == "*":
                    raise Unresolved(func)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.ClassDef)) and _binds(node, func):
            raise Unresolved(func)  # made at import time: only importing can tell
    return None


def _binds(node: ast.AST, name: str) -> bool:
    if isinstance(node, ast.ClassDef):
        return node.name == name
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[attr-defined]
    return any(isinstance(t, ast.Name) and t.id == name for t in targets)


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> inspect.Signature:
    a = node.args
    params: list[inspect.Parameter] = []
    positional = [*a.posonlyargs, *a.args]
    first_default = len(positional) - len(a.defaults)
    P = inspect.Parameter
    for index, arg in enumerate(positional):
        kind = P.POSITIONAL_ONLY if index < len(a.posonlyargs) else P.POSITIONAL_OR_KEYWORD
        default = None if index >= first_default else P.empty
        params.append(P(arg.arg, kind, default=default))
    if a.vararg:
        params.append(P(a.vararg.arg, P.VAR_POSITIONAL))
    for arg, kw_default in zip(a.kwonlyargs, a.kw_defaults):
        params.append(P(arg.arg, P.KEYWORD_ONLY, default=P.empty if kw_default is None else None))
    if a.kwarg:
        params.append(P(a.kwarg.arg, P.VAR_KEYWORD))
    return inspect.Signature(params)
