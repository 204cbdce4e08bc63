"""The Kubernetes RPO writer: one small Service per write in a namespace (official client).

Record ``seq`` is the headless Service ``gameday-rpo-<tag>-<seq>`` without a selector
(nothing routes to it, no endpoints are made for it), labelled
``gameday.rpo/run=<tag>`` and ``gameday.rpo/seq=<seq>``; the time it was stamped is
its ``gameday.rpo/at`` annotation. Services, because every cluster (the sandbox's
too) serves them. The survivors are the ones the label selector lists.

The kubeconfig is ``KUBECONFIG`` of the environment given (else ``~/.kube/config``),
read once when the writer is made. Every request has the write timeout and no
retry, so a silent API costs one timeout per write.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from gamedays.model.redact import safe_url
from gamedays.sli.kubernetes import KubeconfigError, api_client, connection_failure
from gamedays.sli.writers.base import DEFAULT_TIMEOUT, WriterError, check_timeout, run_tag

RUN_LABEL = "gameday.rpo/run"
SEQ_LABEL = "gameday.rpo/seq"
AT_ANNOTATION = "gameday.rpo/at"
_NAMESPACE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class KubernetesWriter:
    def __init__(self, namespace: str, env: Mapping[str, str], run_id: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        from kubernetes import client

        if not _NAMESPACE.match(namespace):
            raise WriterError(
                f"kubernetes writer: {namespace!r} is not a namespace name "
                "(lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit)"
            )
        try:
            self._client = api_client(env)
        except KubeconfigError as exc:
            raise WriterError(f"kubernetes writer: {exc}") from None
        self._api = client.CoreV1Api(self._client)
        self._host = safe_url(self._client.configuration.host)
        self._namespace, self._tag, self._timeout = namespace, run_tag(run_id), check_timeout(timeout)

    @property
    def describe(self) -> str:
        return f"kubernetes {self._host} namespace {self._namespace}"

    @property
    def secrets(self) -> tuple[str, ...]:
        token = self._client.configuration.api_key.get("authorization", "") if self._client.configuration.api_key else ""
        return tuple(part for part in (token, token.removeprefix("Bearer ").strip()) if part)

    def name_for(self, seq: int) -> str:
        return f"gameday-rpo-{self._tag}-{seq}"

    def prepare(self) -> None:
        """Checks the namespace exists (a role that may not read namespaces skips the check)."""
        try:
            self._call("read the namespace", self._api.read_namespace, self._namespace)
        except _Refused as exc:
            if exc.status == 404:
                raise WriterError(f"{self.describe}: the namespace {self._namespace} does not exist") from None
            if exc.status != 403:
                raise WriterError(exc.message) from None

    def write(self, seq: int, at: float) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": self.name_for(seq),
                "labels": {RUN_LABEL: self._tag, SEQ_LABEL: str(seq)},
                "annotations": {AT_ANNOTATION: repr(float(at))},
            },
            "spec": {"clusterIP": "None", "ports": [{"name": "rpo", "port": 9}]},
        }
        try:
            self._call(f"write {seq}", self._api.create_namespaced_service, self._namespace, body)
        except _Refused as exc:
            if exc.status != 409:  # 409: it exists, so it was written
                raise WriterError(exc.message) from None

    def survivors(self) -> set[int]:
        found: set[int] = set()
        for service in self._list():
            seq = (service.metadata.labels or {}).get(SEQ_LABEL, "")
            if seq.isdigit():
                found.add(int(seq))
        return found

    def cleanup(self) -> str | None:
        problems: list[str] = []
        try:
            services = self._list()
        except WriterError as exc:
            return str(exc)
        for service in services:
            try:
                self._call("delete " + service.metadata.name, self._delete, service.metadata.name)
            except _Refused as exc:
                if exc.status != 404:
                    problems.append(exc.message)
            except WriterError as exc:
                problems.append(str(exc))
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            return problems[0] + more
        return None

    def close(self) -> None:
        self._client.close()

    def _delete(self, name: str, **kwargs: Any) -> None:
        """The body is read raw: the API answers a Status, which some client versions fail to parse."""
        raw = self._api.delete_namespaced_service(name, self._namespace, _preload_content=False, **kwargs)
        try:
            raw.read()
        finally:
            raw.release_conn()

    def _list(self) -> list[Any]:
        try:
            listed = self._call(
                "list this run's services", self._api.list_namespaced_service, self._namespace,
                label_selector=f"{RUN_LABEL}={self._tag}",
            )  # fmt: skip
        except _Refused as exc:
            raise WriterError(exc.message) from None
        return list(listed.items or [])

    def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        """``method`` with the timeout; _Refused for an HTTP error, WriterError when the API cannot be reached."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return method(*args, _request_timeout=self._timeout, **kwargs)
        except ApiException as exc:
            raise _Refused(exc.status or 0, f"{self.describe}: cannot {what}: HTTP {exc.status} {exc.reason}") from None
        except (HTTPError, OSError) as exc:
            raise WriterError(f"{self.describe}: cannot {what}: cannot reach the API: {connection_failure(exc)}") from None


class _Refused(Exception):
    """The API answered with an HTTP error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

