"""The sandbox's AWS endpoint: moto's server on 127.0.0.1, seeded with the shop's resources.

chaosaws experiments run unchanged against it because botocore honours
``AWS_ENDPOINT_URL`` (see :meth:`AwsSandbox.env`). The server runs in a child
process rather than in a thread of gameday because moto keeps its state in
module-level backends: two servers in one process would share one account, so
two sandboxes could not run side by side. The child also keeps moto's memory
out of the orchestrator, gets moto settings through its own environment, and
frees its port for certain when it exits. The child serves moto's WSGI app
with werkzeug's ``make_server``, as ``moto.server.ThreadedMotoServer`` does,
but in the open: ThreadedMotoServer binds inside its thread (a port in use
makes ``start()`` wait forever) and its ``stop()`` never closes the socket.

The child seeds the resources itself (:mod:`gamedays.sandbox.awsseed`: boto3 through its own endpoint, moto
already imports boto3) and reports their identifiers in a ready file, so the
orchestrator never imports boto3 or moto to start the sandbox. In front of moto's
app, the child writes a trail of the calls that changed something and runs the
sandbox's AWS twin (:mod:`gamedays.sandbox.twin`), which the sandbox attaches to its
parts once they run; until then, and for a bare AwsSandbox, the trail is all it does.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from gamedays.model.errors import SandboxError
from gamedays.sandbox import processes
from gamedays.sandbox.awsseed import AwsSeed, seed_resources
from gamedays.sandbox.ports import LOOPBACK, free_port

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

log = logging.getLogger(__name__)

#: moto's documented dummy credentials: not secrets, moto accepts any key.
DUMMY_ACCESS_KEY_ID = "testing"
DUMMY_SECRET_ACCESS_KEY = "testing"
DEFAULT_REGION = "us-east-1"
#: How long start() waits for the seeded server before giving up (the target is far below).
START_TIMEOUT = 60.0  # several sandboxes starting at once on a small, busy machine (CI) take their time
#: Exit code of the child when its port was taken between choosing and binding it.
_EXIT_PORT_IN_USE = 3
_AUTO_PORT_ATTEMPTS = 3
#: moto settings for the child: no default AMI catalogue (measured: -0.5 s start-up, -5 MB).
_MOTO_SETTINGS = (("MOTO_EC2_LOAD_DEFAULT_AMIS", "false"),)


class AwsSandbox:
    """moto's AWS endpoint on 127.0.0.1, seeded with an Aurora cluster, an RDS instance, a zone and an EC2 instance.

    ``start()`` returns once the resources exist; ``stop()`` ends the child process,
    frees the port and removes the temporary directory (also when ``start()`` fails).
    """

    def __init__(self, port: int | None = None, *, region: str = DEFAULT_REGION, nodes: Sequence[str] = ()) -> None:
        self._requested_port = port
        self._region = region
        self._nodes = tuple(nodes)  # a Kubernetes node's EC2 instance each (awsseed.NODE_TAG)
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._seed: AwsSeed | None = None

    def __enter__(self) -> AwsSandbox:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise SandboxError("the AWS sandbox is not started")
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def region(self) -> str:
        return self._region

    @property
    def seed(self) -> AwsSeed:
        if self._seed is None:
            raise SandboxError("the AWS sandbox is not started")
        return self._seed

    @property
    def pid(self) -> int | None:
        """The moto server's process id while it runs (tests check it is gone after stop())."""
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path | None:
        """The moto server's output (in a temporary directory removed by stop()), while it runs."""
        return self._workdir / "moto.log" if self._workdir is not None else None

    @property
    def trail_path(self) -> Path | None:
        """The trail of accepted calls that change something (JSON lines, :mod:`gamedays.sandbox.twin.trail`), while it runs."""
        return self._workdir / "trail.jsonl" if self._workdir is not None else None

    def start(self) -> AwsSeed:
        """Start the moto server in a child process, wait until it has seeded the resources, return them."""
        if self._process is not None:
            raise SandboxError("the AWS sandbox is already started")
        began = time.monotonic()
        self._workdir = Path(tempfile.mkdtemp(prefix="gameday-aws-"))
        try:
            attempts = 1 if self._requested_port is not None else _AUTO_PORT_ATTEMPTS
            for attempt in range(1, attempts + 1):
                port = self._requested_port if self._requested_port is not None else free_port()
                if self._requested_port is not None:
                    _ensure_free(port)
                if self._launch(port, began + START_TIMEOUT):
                    break
                log.info("port %d was taken before moto bound it (attempt %d of %d)", port, attempt, attempts)
            else:
                raise SandboxError(f"moto could not bind a free port on {LOOPBACK} after {attempts} attempts")
        except BaseException:
            self.stop()
            raise
        log.info("AWS sandbox up at %s in %.2f s", self.endpoint_url, time.monotonic() - began)
        return self.seed

    def stop(self) -> None:
        """Stop the moto server (SIGTERM, then SIGKILL), free its port, remove the temporary directory."""
        if self._process is not None:
            processes.stop(self._process)
            self._process = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self._port = None
        self._seed = None

    def env(self) -> dict[str, str]:
        """The variables a boto3 / chaosaws client needs to reach this endpoint and nothing else.

        The config and credentials files point at /dev/null so a user's ~/.aws
        profiles never leak in, and the instance-metadata lookup is disabled.
        """
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": self._region,
            "AWS_REGION": self._region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def child_env(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` (e.g. ``os.environ``) for a child process: inherited AWS_* removed, :meth:`env` added.

        A user's AWS_PROFILE, AWS_SESSION_TOKEN or AWS_ENDPOINT_URL_<SERVICE>
        would otherwise win over, or break, the sandbox's settings. 127.0.0.1 is
        added to NO_PROXY so a configured HTTP proxy is bypassed.
        """
        merged = {key: value for key, value in base.items() if not key.startswith("AWS_")}
        merged.update(self.env())
        for key in ("NO_PROXY", "no_proxy"):
            existing = [part for part in merged.get(key, "").split(",") if part]
            merged[key] = ",".join([*existing, LOOPBACK]) if LOOPBACK not in existing else ",".join(existing)
        return merged

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` bound to this endpoint, isolated from the environment and ~/.aws."""
        return isolated_client(service, self.endpoint_url, self._region)

    def _launch(self, port: int, deadline: float) -> bool:
        """Start the child on ``port`` and wait for its ready file. False when the port was taken meanwhile."""
        assert self._workdir is not None
        ready = self._workdir / f"ready-{port}.json"
        argv = [sys.executable, "-m", __name__, "--port", str(port), "--ready", str(ready), "--region", self._region]
        argv += [f"--node={node}" for node in self._nodes]
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        env.update(dict(_MOTO_SETTINGS))
        logfile = self._workdir / "moto.log"  # the same as log_path
        self._process = processes.spawn(argv, log=logfile, env=env)
        while time.monotonic() < deadline:
            if ready.exists():
                self._port = port
                self._seed = AwsSeed.from_json(ready.read_text())
                return True
            code = self._process.poll()
            if code is not None:
                self._process = None
                if code == _EXIT_PORT_IN_USE and self._requested_port is None:
                    return False
                if code == _EXIT_PORT_IN_USE:
                    raise SandboxError(f"port {port} on {LOOPBACK} is in use; choose another port for the AWS sandbox")
                raise SandboxError(f"the moto server exited with code {code} while starting:\n{_tail(logfile)}")
            time.sleep(0.02)
        raise SandboxError(f"the moto server was not ready after {START_TIMEOUT:.0f} s:\n{_tail(logfile)}")


def isolated_client(
    service: str, endpoint_url: str, region: str, *, user_agent_extra: str | None = None, session: Any = None
) -> Any:
    """A boto3 client that reads nothing from the environment or ~/.aws, with the dummy credentials.

    Every botocore setting is cut off from its environment variable, the config
    and credentials files are /dev/null and proxies are off, so the client talks
    only to ``endpoint_url``. Clients made from one :func:`isolated_session` share
    the service models it loaded (a new session loads them again: a fraction of a second each).
    """
    from botocore.config import Config

    config = Config(
        proxies={}, retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=30,
        user_agent_extra=user_agent_extra,
    )  # fmt: skip
    made = session if session is not None else isolated_session(region)
    return made.client(service, endpoint_url=endpoint_url, config=config)


def isolated_session(region: str) -> Any:
    """A boto3 session cut off from the environment and ~/.aws (see :func:`isolated_client`)."""
    import boto3
    import botocore.session
    from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES as DEFAULTS

    no_env = {name: (key, None, default, convert) for name, (key, _env, default, convert) in DEFAULTS.items()}
    no_env["config_file"] = (None, None, os.devnull, None)
    no_env["credentials_file"] = (None, None, os.devnull, None)
    core = botocore.session.Session(session_vars=no_env)
    return boto3.session.Session(
        aws_access_key_id=DUMMY_ACCESS_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
        region_name=region,
        botocore_session=core,
    )


def _ensure_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            raise SandboxError(
                f"port {port} on {LOOPBACK} is in use; choose another port for the AWS sandbox or leave it unset"
            ) from None


def _tail(logfile: Path, lines: int = 20) -> str:
    if not logfile.exists():
        return "(no output)"
    return "\n".join(logfile.read_text(errors="replace").splitlines()[-lines:]) or "(no output)"


# --- the child process -------------------------------------------------------------------------


def _serve(port: int, ready: Path, region: str, nodes: Sequence[str] = ()) -> int:
    """Child main: bind, seed, write the ready file, serve until SIGTERM/SIGINT or until the parent is gone."""
    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from gamedays.sandbox.twin.endpoint import TwinEndpoint
    from gamedays.sandbox.twin.trail import TrailRecorder
    from gamedays.sandbox.twin.worker import TwinWorker

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the log
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # inherited by the server threads: only we wait for them
    parent = os.getppid()
    session = isolated_session(region)  # one for the seeding and the twin: the models are loaded once
    twin = TwinWorker(f"http://{LOOPBACK}:{port}", region, session)
    try:
        moto_app = DomainDispatcherApplication(create_backend_app)
        app = TwinEndpoint(TrailRecorder(moto_app, ready.parent / "trail.jsonl", twin.submit), twin, START_TIMEOUT)
        server: BaseWSGIServer = make_server(LOOPBACK, port, app, threaded=True, request_handler=MotoRequestHandler)
    except OSError as exc:
        sys.stderr.write(f"cannot bind {LOOPBACK}:{port}: {exc}\n")
        return _EXIT_PORT_IN_USE
    serving = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    serving.start()
    try:
        seed = seed_resources(f"http://{LOOPBACK}:{port}", region, nodes, session)
        partial = ready.with_suffix(".partial")
        partial.write_text(seed.to_json())
        partial.replace(ready)  # atomic: the parent never reads half a file
        twin.start()  # after the ready file: its imports are not on the sandbox's way up
        while signal.sigtimedwait(stop_signals, 1.0) is None:
            if os.getppid() != parent:  # the orchestrator died without stopping us: do not linger
                log.warning("the process that started this server is gone: stopping and removing %s", ready.parent)
                shutil.rmtree(ready.parent, ignore_errors=True)
                break
    finally:
        twin.stop()
        server.shutdown()
        server.server_close()
        serving.join(5)
    return 0


def _main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m gamedays.sandbox.aws", description="the sandbox's moto server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--node", action="append", default=[])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return _serve(args.port, args.ready, args.region, args.node)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
