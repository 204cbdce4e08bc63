"""The resolver fault knobs: answers delayed or dropped, set from Python or over the wire."""

from __future__ import annotations

import time

import dns.exception
import dns.rcode
import dns.update
import pytest

from gamedays.sandbox.dns import ResolverFault, ZoneServer
from tests.sandbox.dns.dnsclient import ZONE, query, resolver, update

FAULT_NAME = f"_gameday-fault.{ZONE}"


def _timed_lookup(zone: ZoneServer, *, tcp: bool = False) -> float:
    started = time.monotonic()
    assert query(zone, f"api.{ZONE}", "A", tcp=tcp, timeout=3.0).rcode() == dns.rcode.NOERROR
    return time.monotonic() - started


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_a_delay_slows_every_answer_until_cleared(zone: ZoneServer, tcp: bool):
    assert _timed_lookup(zone, tcp=tcp) < 0.2
    zone.set_fault(delay_seconds=0.4)
    assert 0.4 <= _timed_lookup(zone, tcp=tcp) < 2.0
    zone.clear_fault()
    assert _timed_lookup(zone, tcp=tcp) < 0.2


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_drop_means_no_answer_at_all(zone: ZoneServer, tcp: bool):
    zone.set_fault(drop=True)
    with pytest.raises(dns.exception.Timeout):
        query(zone, f"api.{ZONE}", "A", tcp=tcp, timeout=0.5)
    with pytest.raises(dns.resolver.LifetimeTimeout):
        resolver(zone, lifetime=0.5).resolve(f"api.{ZONE}", "A")
    zone.clear_fault()
    assert _timed_lookup(zone, tcp=tcp) < 0.2


def test_the_fault_is_set_and_cleared_over_the_wire_and_readable_even_while_dropping(zone: ZoneServer):
    on = dns.update.UpdateMessage(ZONE)
    on.replace("_gameday-fault", 1, "TXT", '"delay=0.3" "drop=false"')
    assert update(zone, on).rcode() == dns.rcode.NOERROR
    assert zone.fault == ResolverFault(delay_seconds=0.3, drop=False)
    assert 0.3 <= _timed_lookup(zone) < 2.0
    black_hole = dns.update.UpdateMessage(ZONE)
    black_hole.replace("_gameday-fault", 1, "TXT", '"drop=true"')
    assert update(zone, black_hole).rcode() == dns.rcode.NOERROR  # updates are never dropped
    status = query(zone, FAULT_NAME, "TXT", timeout=1.0)  # the fault name itself always answers
    assert [rr.to_text() for rr in status.answer] == [f'{FAULT_NAME}. 1 IN TXT "drop=true"']
    with pytest.raises(dns.exception.Timeout):
        query(zone, f"api.{ZONE}", "A", timeout=0.5)
    off = dns.update.UpdateMessage(ZONE)
    off.delete("_gameday-fault", "TXT")
    assert update(zone, off).rcode() == dns.rcode.NOERROR
    assert zone.fault == ResolverFault()
    assert _timed_lookup(zone) < 0.2


@pytest.mark.parametrize("value", ['"delay=-1"', '"delay=31"', '"speed=fast"', '"drop=maybe"', '"delay=0.1" "delay=0.2"'])
def test_a_bad_fault_record_is_refused_and_changes_nothing(zone: ZoneServer, value: str):
    message = dns.update.UpdateMessage(ZONE)
    message.replace("_gameday-fault", 1, "TXT", value)
    assert update(zone, message).rcode() == dns.rcode.REFUSED
    assert zone.fault == ResolverFault()
    assert _timed_lookup(zone) < 0.2


def test_python_and_wire_views_of_the_fault_agree(zone: ZoneServer):
    zone.set_fault(delay_seconds=0.25, drop=False)
    status = query(zone, FAULT_NAME, "TXT")
    assert [rr.to_text() for rr in status.answer] == [f'{FAULT_NAME}. 1 IN TXT "delay=0.25" "drop=false"']
    assert zone.snapshot().fault == ResolverFault(0.25, False)
    with pytest.raises(ValueError, match="between 0 and 30 seconds"):
        zone.set_fault(delay_seconds=-0.5)
