"""Label and field selectors, in the syntax and with the meaning of the real API.

Label selectors come as query text (``app=web,tier in (a,b),!legacy``) or as a
``LabelSelector`` object (``matchLabels`` / ``matchExpressions``) inside specs; both
parse into one :class:`LabelSelector`. Field selectors (``spec.nodeName=n1,status.phase!=Running``)
compare dotted paths of the object as strings, the way the API server does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

_KEY = re.compile(r"^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$")
_VALUE = re.compile(r"^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?)?$")
_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


class SelectorError(ValueError):
    """A selector that does not parse; the message is the one answered with 400 BadRequest."""


@dataclass(frozen=True)
class Requirement:
    """One term of a label selector: ``key op values``."""

    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator in ("=", "in"):
            return present and value in self.values
        if self.operator in ("!=", "notin"):
            return not present or value not in self.values
        if self.operator == "exists":
            return present
        return not present


@dataclass(frozen=True)
class LabelSelector:
    """A conjunction of requirements; the empty selector matches every object."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        found = labels or {}
        return all(r.matches(found) for r in self.requirements)

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        """Parse the query syntax; raises :class:`SelectorError` like the API's 400 answer."""
        if text is None or not text.strip():
            return cls()
        return cls(tuple(_parse_requirement(part) for part in _split_terms(text)))

    @classmethod
    def from_object(cls, selector: Mapping[str, Any] | None) -> LabelSelector:
        """The selector of a spec (``matchLabels`` and ``matchExpressions``)."""
        if not selector:
            return cls()
        requirements = [Requirement(k, "=", (str(v),)) for k, v in sorted((selector.get("matchLabels") or {}).items())]
        for expression in selector.get("matchExpressions") or []:
            operator = _OPERATORS.get(str(expression.get("operator")))
            if operator is None:
                raise SelectorError(f"{expression.get('operator')!r} is not a valid label selector operator")
            values = tuple(str(v) for v in expression.get("values") or ())
            requirements.append(Requirement(str(expression.get("key")), operator, values))
        return cls(tuple(requirements))


def _split_terms(text: str) -> list[str]:
    """Split on the commas that separate terms, not those inside ``in (a,b)``."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unable to parse requirement: unbalanced ')' in {text!r}")
        if char == "," and depth == 0:
            terms.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if depth:
        raise SelectorError(f"unable to parse requirement: unbalanced '(' in {text!r}")
    terms.append("".join(current).strip())
    if any(not term for term in terms):
        raise SelectorError(f"unable to parse requirement: empty term in {text!r}")
    return terms


_SET_TERM = re.compile(r"^(?P<key>\S+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")


def _parse_requirement(term: str) -> Requirement:
    match = _SET_TERM.match(term)
    if match:
        values = tuple(v.strip() for v in match["values"].split(",") if v.strip())
        if not values:
            raise SelectorError(
                f"unable to parse requirement: for 'in', 'notin' operators, values set can't be empty: {term!r}"
            )
        return _checked(Requirement(match["key"], match["op"], values), term)
    for symbol, operator in (("!=", "!="), ("==", "="), ("=", "=")):
        if symbol in term:
            key, _, value = term.partition(symbol)
            return _checked(Requirement(key.strip(), operator, (value.strip(),)), term)
    if term.startswith("!"):
        return _checked(Requirement(term[1:].strip(), "!"), term)
    return _checked(Requirement(term, "exists"), term)


def _checked(requirement: Requirement, term: str) -> Requirement:
    if not _KEY.match(requirement.key) or len(requirement.key) > 316:
        raise SelectorError(f"unable to parse requirement: invalid label key {requirement.key!r} in {term!r}")
    for value in requirement.values:
        if not _VALUE.match(value) or len(value) > 63:
            raise SelectorError(f"unable to parse requirement: invalid label value {value!r} in {term!r}")
    return requirement


@dataclass(frozen=True)
class FieldTerm:
    path: str
    equal: bool
    value: str


@dataclass(frozen=True)
class FieldSelector:
    """A conjunction of ``path=value`` / ``path!=value`` over an object's fields."""

    terms: tuple[FieldTerm, ...] = ()

    @classmethod
    def parse(cls, text: str | None, supported: frozenset[str]) -> FieldSelector:
        """Parse ``text``; a path outside ``supported`` is the API's 400 ``field label not supported``."""
        if text is None or not text.strip():
            return cls()
        terms = []
        for part in text.split(","):
            part = part.strip()
            for symbol, equal in (("!=", False), ("==", True), ("=", True)):  # noqa: B007 - used after the loop
                if symbol in part:
                    path, _, value = part.partition(symbol)
                    break
            else:
                raise SelectorError(f"invalid selector: '{part}'; can't understand '{part}'")
            path = path.strip()
            if path not in supported:
                raise SelectorError(f'field label not supported: "{path}"')
            terms.append(FieldTerm(path, equal, value.strip()))
        return cls(tuple(terms))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all((field_value(obj, t.path) == t.value) == t.equal for t in self.terms)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The value at dotted ``path`` as the API compares it: booleans lower-case, absent as ``""``."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)
