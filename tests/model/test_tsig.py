"""TSIG keys by reference: the forms taken, and errors that name the variable, never the secret."""

from __future__ import annotations

import pytest

from gamedays.model.playbook import DataWriter
from gamedays.model.tsig import TsigKey, TsigKeyError, key_from

SECRET = "c2VjcmV0LW9mLXRoZS16b25lLWtleQ=="


def test_the_nsupdate_forms_with_and_without_an_algorithm():
    assert key_from("env:K", {"K": f"zone-key:{SECRET}"}) == TsigKey("zone-key", "hmac-sha256", SECRET)
    assert key_from("env:K", {"K": f"HMAC-SHA512.:zone-key:{SECRET}"}) == TsigKey("zone-key", "hmac-sha512", SECRET)


def test_unset_or_empty_means_unsigned():
    assert key_from("env:K", {}) is None
    assert key_from("env:K", {"K": "  "}) is None
    assert key_from(None, {"DNS_TSIG_KEY": f"k:{SECRET}"}) == TsigKey("k", "hmac-sha256", SECRET)


def test_the_secret_stays_out_of_repr_and_errors():
    assert SECRET not in repr(TsigKey("k", "hmac-sha256", SECRET))
    with pytest.raises(TsigKeyError) as failed:
        key_from("env:K", {"K": f"hmac-sha3:k:{SECRET}"})
    assert SECRET not in str(failed.value) and "K names algorithm 'hmac-sha3'" in str(failed.value)
    with pytest.raises(TsigKeyError) as failed:
        key_from(f"k:{SECRET}", {})
    assert str(failed.value) == "tsig_key must be a reference such as env:DNS_TSIG_KEY (the key itself is never written down)"


def test_a_writer_takes_a_key_reference_only_for_dns():
    assert str(DataWriter(kind="dns", target="127.0.0.1:53", zone="z").key_reference) == "env:DNS_TSIG_KEY"
    assert str(DataWriter(kind="dns", target="127.0.0.1:53", zone="z", tsig_key="env:ZK").key_reference) == "env:ZK"
    with pytest.raises(ValueError, match="only a dns writer takes a tsig_key"):
        DataWriter(kind="postgres", target="postgresql://db/x", tsig_key="env:ZK")
    with pytest.raises(ValueError, match="a literal value is not allowed here"):
        DataWriter(kind="dns", target="127.0.0.1:53", zone="z", tsig_key=f"k:{SECRET}")
