"""The confirmation rule, as a pure function: every environment but `sandbox` needs its own name again."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamedays.model.environment import check_confirmation, is_production, needs_confirmation
from gamedays.model.errors import UsageError

NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)


@pytest.mark.parametrize("spelling", ["production", "Production", "PRODUCTION", "prod", "PROD", "prd", "Prd", "live"])
def test_every_usual_spelling_of_production_is_production(spelling):
    assert is_production(spelling) and needs_confirmation(spelling)
    with pytest.raises(UsageError, match=f"the plan targets production \\(environment '{spelling}'\\)"):
        check_confirmation(spelling, None)


@pytest.mark.parametrize("name", ["staging", "sandbox-2", "preprod", "Sandbox"])
def test_other_environments_are_not_production_but_still_need_confirmation(name):
    assert not is_production(name)
    assert needs_confirmation(name)


@given(NAMES.filter(lambda name: name != "sandbox"))
def test_an_environment_is_confirmed_by_its_own_name_in_any_case(name):
    for given_name in (name, name.upper(), name.lower(), name.swapcase()):
        check_confirmation(name, given_name)  # no error
    with pytest.raises(UsageError):
        check_confirmation(name, None)


@given(NAMES.filter(lambda name: name != "sandbox"), NAMES)
def test_an_environment_is_never_confirmed_by_another_name(name, other):
    if other.casefold() == name.casefold():
        return
    with pytest.raises(UsageError, match=f"--confirm {other} does not match"):
        check_confirmation(name, other)


def test_the_sandbox_needs_nothing_and_accepts_its_own_name():
    assert not needs_confirmation("sandbox")
    check_confirmation("sandbox", None)
    check_confirmation("sandbox", "SANDBOX")
    with pytest.raises(UsageError, match="--confirm prod does not match the plan's environment 'sandbox'"):
        check_confirmation("sandbox", "prod")
