"""Start and stop the twin's process from the sandbox, importing neither boto3 nor moto here."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from gamedays.model.errors import SandboxError
from gamedays.sandbox import processes
from gamedays.sandbox.twin.spec import TwinSpec


class TwinLauncher:
    """The twin's process: :meth:`start` returns once it follows moto; :meth:`stop` ends it."""

    def __init__(self, spec: TwinSpec, directory: Path, log: Path) -> None:
        self._spec = spec
        self._directory = directory
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        spec_file, ready = self._directory / "twin.json", self._directory / "twin.ready"
        ready.unlink(missing_ok=True)
        spec_file.write_text(json.dumps(asdict(self._spec), indent=2))
        argv = [sys.executable, "-m", "gamedays.sandbox.twin.process", "--spec", str(spec_file), "--ready", str(ready)]
        self._process = processes.spawn(argv, log=self._log, env=None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready.exists():
                return
            code = self._process.poll()
            if code is not None:
                self._process = None
                raise SandboxError(f"the AWS twin exited with code {code} while starting: see {self._log}")
            time.sleep(0.05)
        raise SandboxError(f"the AWS twin was not ready after {timeout:g}s: see {self._log}")

    def stop(self) -> None:
        if self._process is not None:
            processes.stop(self._process)
            self._process = None
