"""writer_for: ${NAME} expansion, clear refusals of targets that cannot be, and the run tag."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamedays.model.playbook import DataWriter
from gamedays.sli.writers import MissingWriterVariable, WriterError, run_tag, writer_for
from gamedays.sli.writers.dns import DnsWriter

TAG = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


def dns_spec(target: str = "${SANDBOX_DNS}", zone: str = "${SANDBOX_DNS_ZONE}") -> DataWriter:
    return DataWriter(kind="dns", target=target, zone=zone)


def test_target_and_zone_are_read_from_the_environment():
    writer = writer_for(dns_spec(), {"SANDBOX_DNS": "127.0.0.1:5353", "SANDBOX_DNS_ZONE": "shop.internal"}, "r")
    assert isinstance(writer, DnsWriter)
    assert writer.describe == "dns 127.0.0.1:5353 zone shop.internal."
    assert writer.name_for(7) == "_gameday-rpo-r-0.shop.internal."


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "environment variable SANDBOX_DNS is not set (the dns writer's target refers to ${SANDBOX_DNS})"),
        (
            {"SANDBOX_DNS": "127.0.0.1:5353"},
            "environment variable SANDBOX_DNS_ZONE is not set (the dns writer's zone refers to ${SANDBOX_DNS_ZONE})",
        ),
    ],
)
def test_a_missing_variable_is_named_with_the_setting_that_refers_to_it(env: dict[str, str], message: str):
    with pytest.raises(MissingWriterVariable) as error:
        writer_for(dns_spec(), env, "r")
    assert str(error.value) == message


@pytest.mark.parametrize("server", ["dns.example:53", "127.0.0.1:0", "127.0.0.1:70000", "not an address"])
def test_a_dns_server_must_be_an_ip_address_with_an_optional_port(server: str):
    """Once expanded (a literal value is refused by the model already: tests/loading/test_sli_sources.py)."""
    with pytest.raises(WriterError) as error:
        writer_for(dns_spec(target="${DNS}", zone="shop.internal"), {"DNS": server}, "r")
    assert str(error.value) == (
        f"dns writer: server {server!r} is not an IP address with an optional port, e.g. 127.0.0.1:5353"
    )


def test_a_zone_that_is_no_dns_name_is_refused():
    with pytest.raises(WriterError) as error:
        writer_for(dns_spec(target="127.0.0.1", zone="a..b"), {}, "r")
    assert str(error.value).startswith("dns writer: zone 'a..b' is not a DNS name: ")


@pytest.mark.parametrize("timeout", [0, -1, 61, True])
def test_the_write_timeout_is_bounded(timeout: float):
    with pytest.raises(WriterError) as error:
        writer_for(dns_spec(target="127.0.0.1", zone="z"), {}, "r", timeout=timeout)
    assert str(error.value) == f"a write timeout must be a number of seconds in (0, 60], got {timeout!r}"


def test_a_run_id_is_required():
    with pytest.raises(WriterError, match="a writer needs a run id"):
        writer_for(dns_spec(target="127.0.0.1", zone="z"), {}, "")


def test_a_clean_run_id_is_its_own_tag():
    assert run_tag("2024-05-db-cluster") == "2024-05-db-cluster"
    assert run_tag("Run 1") == f"run-1-{run_tag('Run 1')[-8:]}" != run_tag("run 1")


@given(st.text(min_size=1, max_size=200))
def test_every_run_id_gets_a_tag_usable_as_a_dns_label_and_a_label_value(run_id: str):
    tag = run_tag(run_id)
    assert TAG.match(tag) and len(tag) <= 32
    assert run_tag(run_id) == tag


@given(st.text(min_size=1, max_size=60), st.text(min_size=1, max_size=60))
def test_two_run_ids_never_share_a_tag(first: str, second: str):
    if first != second:
        assert run_tag(first) != run_tag(second)
