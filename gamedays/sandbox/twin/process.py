"""The twin's process: polls moto's API every half second and makes the sandbox's parts follow.

Started by the sandbox (:class:`gamedays.sandbox.twin.launcher.TwinLauncher`), never by hand:

    python -m gamedays.sandbox.twin.process --spec twin.json --ready twin.ready

It writes the ready file once the hosted zone holds the sandbox zone's records and the
writer is known, then reconciles until SIGTERM/SIGINT, or until the sandbox that started it
is gone. One pass that fails (moto slow, a server refusing) is logged and the next pass
tries again: the twin outlives the errors of what it drives.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

from gamedays.sandbox.aws import isolated_client
from gamedays.sandbox.twin.aurora import AuroraSpec, AuroraTwin
from gamedays.sandbox.twin.route53 import Route53Spec, Route53Twin
from gamedays.sandbox.twin.spec import Instance
from gamedays.sandbox.twin.trail import TrailReader

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


def serve(spec: dict[str, Any], ready: Path) -> int:
    """Reconcile until asked to stop; ``spec`` as :class:`gamedays.sandbox.twin.launcher.TwinSpec` writes it."""
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    parent = os.getppid()
    endpoint, region = spec["endpoint_url"], spec["region"]
    aurora = AuroraTwin(
        AuroraSpec(
            cluster=spec["cluster"],
            instances=tuple(Instance.parse(text) for text in spec["instances"]),
            dns_server=spec["dns_server"],
            zone=spec["zone"],
            record=spec["writer_record"],
            database=spec["database"],
            log_file=spec["postgres_log"],
        ),
        isolated_client("rds", endpoint, region),
        on_record_moved=lambda name, rdtype, values, ttl: route53.mirror(name, rdtype, values, ttl),
    )
    route53 = Route53Twin(
        Route53Spec(spec["hosted_zone_id"], spec["zone"], spec["dns_server"]), isolated_client("route53", endpoint, region)
    )
    trail = TrailReader(Path(spec["trail"]))
    trail.skip_to_end()
    route53.start([(r["name"], r["rdtype"], int(r["ttl"]), list(r["values"])) for r in spec["records"]])
    aurora.start()
    partial = ready.with_suffix(".partial")
    partial.write_text(json.dumps({"pid": os.getpid()}))
    partial.replace(ready)
    log.info("the AWS twin follows %s", endpoint)
    while signal.sigtimedwait(stop_signals, POLL_SECONDS) is None:
        if os.getppid() != parent:
            log.warning("the sandbox that started the twin is gone: stopping")
            break
        began = time.monotonic()
        steps: tuple[tuple[str, Callable[[], None]], ...] = (
            ("Aurora", lambda: aurora.reconcile(trail.new_events())),
            ("Route53", route53.reconcile),
        )
        for name, step in steps:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - logged; the next pass tries again
                log.error("%s: this pass failed: %s: %s", name, type(exc).__name__, exc)
        took = time.monotonic() - began
        if took > 2:
            log.info("the pass took %.1fs", took)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gamedays.sandbox.twin.process", description="the sandbox's AWS twin")
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--ready", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    return serve(json.loads(args.spec.read_text()), args.ready)


if __name__ == "__main__":
    sys.exit(main())
