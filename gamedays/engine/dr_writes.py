"""RPO as measured during a DR check: a writer stamps writes (sequence, time) into the component
from before the backup until the recovery is proven; what is missing afterwards was lost.

The writer is one of :mod:`gamedays.sli.writers` (PostgreSQL rows, DNS TXT records,
Kubernetes objects). A writer that cannot start does not stop the check: its RPO is
then "not measured", with the reason in the journal.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Callable, Mapping


from gamedays.model.dr import data_loss
from gamedays.model.events import DRWrites
from gamedays.model.playbook import DataWriter

if TYPE_CHECKING:  # the writers import their drivers (psycopg, dnspython) when a check starts
    from gamedays.sli.writers.base import Writer
    from gamedays.sli.writers.recorder import WriteRecorder

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0


class WrittenData:
    """One DR check's writer: :meth:`start` before the backup, :meth:`finish` once recovered (or not)."""

    def __init__(
        self, spec: DataWriter, env: Mapping[str, str], run_id: str, check: str,
        record: Callable[[DRWrites], None], clean: Callable[[str], str],
    ) -> None:
        self.spec = spec
        self._env = env
        self._run_id = run_id
        self._check = check
        self._record = record
        self._clean = clean
        self._writer: Writer | None = None
        self._recorder: WriteRecorder | None = None
        self._error = "the writer did not start"

    def start(self) -> None:
        from gamedays.sli.writers import WriteRecorder, WriterError, writer_for

        try:
            writer = writer_for(self.spec, self._env, self._run_id)
        except WriterError as exc:  # the check goes on without an RPO; the journal says why
            self._error = f"the writer did not start: {self._clean(str(exc))}"
            return
        try:
            writer.prepare()
        except WriterError as exc:
            writer.close()
            self._error = f"the writer did not start: {self._clean(str(exc))}"
            logger.warning("RPO writer of %s not started: %s", self._check, self._error)
            return
        self._writer = writer
        self._recorder = WriteRecorder(writer, every=self.spec.every.seconds).start()

    def finish(self, disaster_at: float | None, recovered_at: float | None) -> float | None:
        """Stop writing, read back what survived, journal it; the RPO measured (None: not measured)."""
        from gamedays.sli.writers import WriterError

        writer, recorder = self._writer, self._recorder
        if writer is None or recorder is None:
            self._record(DRWrites(at=time.time(), check=self._check, writer=self.spec.kind.value, acknowledged=0, lost=0,
                                  error=self._error))
            return None
        recorder.stop(timeout=STOP_TIMEOUT)
        acked = recorder.acknowledged()
        error: str | None = None
        lost: list[tuple[int, float]] = []
        rpo: float | None = None
        if disaster_at is not None and recovered_at is None:
            error = "not recovered: what survived cannot be read back"
        else:
            try:
                survivors = writer.survivors()
            except WriterError as exc:
                error = f"cannot read back the writes: {self._clean(str(exc))}"
            else:
                lost = [(seq, at) for seq, at in acked if seq not in survivors]
                if disaster_at is not None:
                    rpo = data_loss(acked, survivors, disaster_at).window_seconds
        problem = writer.cleanup()
        if problem:
            logger.warning("RPO writer of %s: cleanup failed: %s", self._check, self._clean(problem))
        writer.close()
        self._record(DRWrites(
            at=time.time(), check=self._check, writer=self.spec.kind.value, acknowledged=len(acked), lost=len(lost),
            first_lost_at=min((at for _, at in lost), default=None), last_acked_at=max((at for _, at in acked), default=None),
            error=error,
        ))
        return rpo


def can_write_and_read_back(spec: DataWriter, env: Mapping[str, str], run_id: str, clean: Callable[[str], str]) -> tuple[bool, str]:
    """The rehearsal's precheck: one stamped write acknowledged and read back, then cleaned up."""
    from gamedays.sli.writers import WriterError, writer_for

    try:  # read back where it writes: a cluster the check restores into does not exist yet
        writer = writer_for(spec.model_copy(update={"read_back": None}), env, run_id)
    except WriterError as exc:
        return False, f"the writer cannot start: {clean(str(exc))}"
    try:
        writer.prepare()
        writer.write(1, time.time())
        if 1 not in writer.survivors():
            return False, "a write was acknowledged but cannot be read back"
    except WriterError as exc:
        return False, f"the writer cannot write and read back: {clean(str(exc))}"
    finally:
        writer.cleanup()
        writer.close()
    return True, f"a stamped write to {writer.describe} was acknowledged and read back"


def remove_stamps(spec: DataWriter, env: Mapping[str, str], run_id: str) -> str | None:
    """Remove what run ``run_id`` of a writer stamped (its process died before its own cleanup):
    None when done, else what went wrong (safe to show, not yet scrubbed of the environment's secrets)."""
    from gamedays.sli.writers import WriterError, writer_for

    try:
        writer = writer_for(spec, env, run_id)
    except WriterError as exc:
        return str(exc)
    try:
        return writer.cleanup()
    finally:
        writer.close()
