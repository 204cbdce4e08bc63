"""A rehearsal's precheck of a DR step: is its provider there (module and function, program, URL)?"""

from __future__ import annotations

from gamedays.engine.providers import provider_found
from gamedays.model.dr import DRStepOutcome

PASSED, FAILED = DRStepOutcome.PASSED, DRStepOutcome.FAILED


def python(module: str, func: str) -> dict:
    return {"type": "action", "name": "a", "provider": {"type": "python", "module": module, "func": func}}


def test_a_python_provider_needs_its_module_and_function():
    assert provider_found(python("gamedays.faults.dns.zone", "restore_zone")) == (PASSED, "gamedays.faults.dns.zone.restore_zone found")
    assert provider_found(python("gamedays.faults.dns.zone", "restore_everything")) == (
        FAILED, "module gamedays.faults.dns.zone has no function restore_everything")
    outcome, why = provider_found(python("gamedays.faults.no_such_module", "f"))
    assert outcome is FAILED and why.startswith("module gamedays.faults.no_such_module does not import: ModuleNotFoundError")


def test_a_process_provider_needs_its_program_and_an_http_one_a_url():
    assert provider_found({"provider": {"type": "process", "path": "sleep"}}) == (PASSED, "program sleep found")
    assert provider_found({"provider": {"type": "process", "path": "no-such-program-here"}}) == (
        FAILED, "program no-such-program-here not found on PATH")
    assert provider_found({"provider": {"type": "http", "url": "${shop_url}/healthz"}})[0] is PASSED
    assert provider_found({"provider": {"type": "http", "url": "ftp://x"}}) == (FAILED, "not an http(s) URL: ftp://x")
    assert provider_found({"provider": {"type": "grpc"}}) == (FAILED, "unknown provider type 'grpc'")
