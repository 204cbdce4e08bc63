"""The write recorder, driving a real DNS writer against the sandbox's DNS server on 127.0.0.1."""

from __future__ import annotations

import itertools
import time

import pytest

from gamedays.model.dr import data_loss
from gamedays.model.playbook import DataWriter
from gamedays.sandbox.dns import ZoneServer
from gamedays.sli.writers import WriteRecorder, WriterError, writer_for
from tests.sli.fixtures import wait_until, zone  # noqa: F401 - fixtures


def dns_writer(server: ZoneServer, run: str = "rec"):
    writer = writer_for(DataWriter(kind="dns", target=server.address, zone="shop.internal"), {}, run, timeout=0.5)
    writer.prepare()
    return writer


def test_it_writes_one_numbered_record_per_period_and_stamps_each_with_the_clock(zone: ZoneServer):
    ticks = itertools.count(1000)
    recorder = WriteRecorder(dns_writer(zone), every=0.1, clock=lambda: float(next(ticks))).start()
    time.sleep(1.0)
    assert recorder.stop(timeout=2) and not recorder.running
    acked = recorder.acknowledged()
    assert 4 <= len(acked) <= 12, f"{len(acked)} writes in 1 s at one per 100 ms (a busy machine delays some)"
    assert [seq for seq, _ in acked] == list(range(1, len(acked) + 1))
    # the clock is read when the write starts (its stamp) and when it is acknowledged (what is kept)
    assert [at for _, at in acked] == [1001.0 + 2 * i for i in range(len(acked))]
    assert recorder.counts().attempted == len(acked) and recorder.failed == 0 and recorder.last_error is None


def test_no_write_happens_after_stop(zone: ZoneServer):
    writer = dns_writer(zone)
    recorder = WriteRecorder(writer, every=0.05).start()
    assert wait_until(lambda: len(recorder.acknowledged()) >= 3, timeout=5)
    assert recorder.stop(timeout=2)
    written = writer.survivors()
    time.sleep(0.3)
    assert writer.survivors() == written == {seq for seq, _ in recorder.acknowledged()}


def test_writes_that_fail_during_an_outage_are_not_acknowledged_and_the_loop_goes_on(zone: ZoneServer):
    writer = dns_writer(zone)
    recorder = WriteRecorder(writer, every=0.05).start()
    assert wait_until(lambda: len(recorder.acknowledged()) >= 3, timeout=5)
    port = zone.port
    zone.stop()  # the disaster: the server and its records are gone
    disaster_at = time.time()
    assert wait_until(lambda: recorder.failed >= 3, timeout=5)
    with ZoneServer(port=port):  # recovered, empty: everything written before is lost
        recovered = len(recorder.acknowledged())
        assert wait_until(lambda: len(recorder.acknowledged()) >= recovered + 3, timeout=5)
        assert recorder.stop(timeout=2)
        survivors = writer.survivors()
    acked = recorder.acknowledged()
    seqs = [seq for seq, _ in acked]
    counts = recorder.counts()
    assert counts.attempted == counts.acknowledged + counts.failed >= max(seqs)
    assert len(set(range(1, max(seqs) + 1)) - set(seqs)) >= 3  # the failed ones left a gap
    assert "Connection refused" in (counts.last_error or "")
    after = {seq for seq, at in acked if at > disaster_at}
    assert survivors == after and len(after) >= 3
    loss = data_loss(acked, survivors, disaster_at)
    assert loss.lost == len(acked) - len(after) >= 3
    assert loss.window_seconds == disaster_at - acked[0][1]


def test_it_starts_once_and_stopping_one_never_started_is_harmless(zone: ZoneServer):
    recorder = WriteRecorder(dns_writer(zone), every=0.1)
    assert recorder.stop() is True and recorder.acknowledged() == []
    started = WriteRecorder(dns_writer(zone), every=0.1).start()
    with pytest.raises(RuntimeError, match="starts once"):
        started.start()
    assert started.stop(timeout=2)


@pytest.mark.parametrize("every", [0, -1, True, 3601, "1s"])
def test_a_period_that_cannot_be_one_is_refused(zone: ZoneServer, every: object):
    with pytest.raises(WriterError) as error:
        WriteRecorder(dns_writer(zone), every=every)  # type: ignore[arg-type]
    assert str(error.value) == f"a writer writes every 0-3600 seconds (more than 0), got {every!r}"
