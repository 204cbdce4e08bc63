"""A tiny pod process for the sandbox Kubernetes tests: serves /healthz (200) and / (its pod name).

Run as ``python podserver.py PORT``; it binds 127.0.0.1 only and dies on SIGTERM like any
default Python program, except in a namespace whose name starts with ``stubborn-``, where
it ignores SIGTERM (to test the SIGKILL after the grace period). /healthz answers 503
while the file ``$SANDBOX_TEST_FLAGS_DIR/<pod name>.unready`` exists (to test readiness).
"""

from __future__ import annotations

import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        flags = os.environ.get("SANDBOX_TEST_FLAGS_DIR", "")
        unready = bool(flags) and os.path.exists(os.path.join(flags, f"{os.environ.get('POD_NAME')}.unready"))
        if self.path == "/healthz":
            code = 503 if unready else 200
            body = b"ok\n" if code == 200 else b"unready\n"
        elif self.path == "/":
            code, body = 200, os.environ.get("POD_NAME", "?").encode() + b"\n"
        else:
            code, body = 404, b"not found\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


def main() -> None:
    port = int(sys.argv[1])
    if os.environ.get("POD_NAMESPACE", "").startswith("stubborn-"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print(f"pod {os.environ.get('POD_NAME')} listening on 127.0.0.1:{port}", flush=True)
    HTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
