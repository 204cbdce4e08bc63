"""The plan's ``notify:`` block at work: a listener of the journal that posts to the team's channels.

The gameday never waits for a webhook: the listener composes the message (a few
microseconds) and hands it to a bounded queue; one background thread delivers
the queue in order, with retries (:mod:`.webhook`). A message given up (retries
spent, the queue full, or the gameday over before it could go) is reported to
``on_failure`` as a :class:`NotificationFailed`, for the journal.

Webhook URLs are secrets referenced as ``env:NAME``; they are resolved when the
notifier is built, before the gameday starts, and never logged or journaled.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from gamedays.journal.delivery import Hooks
from gamedays.journal.state import GamedayState
from gamedays.model.errors import GamedayError
from gamedays.model.events import Event, GamedayFinished, GamedayStarted, NotificationFailed
from gamedays.model.plan import NotifySettings, Webhook
from gamedays.notify.messages import SAID, Closing, Message, for_slack, last_message, message
from gamedays.notify.webhook import RetryPolicy, post_json

logger = logging.getLogger(__name__)
CHANNELS = ("mattermost", "slack")


class WebhookNotConfigured(GamedayError):
    """A ``notify:`` webhook whose ``env:NAME`` is unset or not an http(s) URL; ``field`` is its place in the plan."""

    exit_code = 2

    def __init__(self, field: tuple[str, ...], message: str) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"{'.'.join(field)}: {message}")


@dataclass(frozen=True)
class Channel:
    name: str  # mattermost, slack
    url: str  # the secret: never printed
    channel: str | None

    def __repr__(self) -> str:  # a stray repr in a log must not show the URL
        return f"Channel({self.name!r}, channel={self.channel!r})"

    def payload(self, message: Message) -> dict[str, Any]:
        text = for_slack(message.text) if self.name == "slack" else message.text
        body: dict[str, Any] = {"text": text}
        if self.name == "mattermost":
            body["username"] = "gameday"
        if self.channel:
            body["channel"] = self.channel
        return body


def resolve_channels(settings: NotifySettings, env: Mapping[str, str]) -> tuple[Channel, ...]:
    """The configured webhooks with their URLs read from ``env``; raises :class:`WebhookNotConfigured`."""
    channels = []
    for name in CHANNELS:
        hook: Webhook | None = getattr(settings, name)
        if hook is None:
            continue
        field = ("notify", name, "webhook")
        variable = hook.webhook.env
        value = env.get(variable, "").strip()
        if not value:
            raise WebhookNotConfigured(
                field, f"{hook.webhook} is not set: export {variable} (the incoming webhook's URL) before the gameday starts"
            )
        parsed = urllib.parse.urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise WebhookNotConfigured(
                field, f"{hook.webhook} does not hold an http:// or https:// URL (its value is not shown: it is a secret)"
            )
        channels.append(Channel(name, value, hook.channel))
    return tuple(channels)


class Notifier:
    """A journal listener; ``close(timeout)`` after the report delivers what it can within the bound.

    Each channel has its own queue and sender thread: a failing Slack hook does not hold up Mattermost.
    """

    def __init__(
        self,
        settings: NotifySettings,
        env: Mapping[str, str],
        on_failure: Callable[[NotificationFailed], None],
        *,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen: one shared default is safe
        queue_size: int = 64,
    ) -> None:
        self.channels = resolve_channels(settings, env)
        self._on_failure = on_failure
        self._policy = policy
        self._finished: tuple[GamedayFinished, GamedayStarted | None] | None = None
        self._finished_lock = threading.Lock()
        self._queues: dict[str, queue.Queue[Message]] = {c.name: queue.Queue(maxsize=queue_size) for c in self.channels}
        self._closing = threading.Event()
        self._cancel = threading.Event()
        self._close_by = float("inf")  # monotonic; set by close()
        self._threads: list[threading.Thread] = []
        self._sent_lock = threading.Lock()
        self.sent = 0

    @property
    def enabled(self) -> bool:
        return bool(self.channels)

    def start(self) -> Notifier:
        if not self._threads:
            for channel in self.channels:
                thread = threading.Thread(target=self._deliver, args=(channel,), name=f"gameday-notify-{channel.name}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return self

    def subscribe(self, hooks: Hooks) -> None:
        """Listen to the events that call for a message (never blocks: the queues are bounded; when full the message is given up and reported)."""
        if not self.enabled:
            return
        for kind in SAID:
            hooks.on(kind, self._said)
        hooks.on(GamedayFinished, self._gameday_finished)

    def _said(self, event: Event, state: GamedayState) -> None:
        said = message(event, state)
        if said is not None:
            self._enqueue(said)

    def _gameday_finished(self, event: GamedayFinished, state: GamedayState) -> None:
        with self._finished_lock:
            self._finished = (event, state.start)

    def close(self, timeout: float, closing: Closing | None = None) -> None:
        """Queue the finished message, then deliver what is queued within ``timeout`` seconds; report the rest."""
        if not self.enabled:
            return
        with self._finished_lock:
            finished = self._finished
        if finished is not None:  # None: the gameday never finished
            self._enqueue(last_message(*finished, closing or Closing()))
        end = time.monotonic() + max(0.0, timeout)
        self._close_by = end
        self._closing.set()
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            self._cancel.set()  # stops the backoff pauses; an attempt in flight ends within its own timeout
            for thread in self._threads:
                thread.join(self._policy.timeout + 0.5)
        for channel in self.channels:
            while True:
                try:
                    message = self._queues[channel.name].get_nowait()
                except queue.Empty:
                    break
                self._failed(channel, message, 0, "not sent: the gameday ended before it could be delivered")

    # ------------------------------------------------------------------ internals

    def _enqueue(self, message: Message) -> None:
        for channel in self.channels:
            try:
                self._queues[channel.name].put_nowait(message)
            except queue.Full:
                self._failed(channel, message, 0, "not sent: too many messages waiting (the webhook is too slow)")

    def _deliver(self, channel: Channel) -> None:
        waiting = self._queues[channel.name]
        while True:
            try:
                message = waiting.get(timeout=0.05)
            except queue.Empty:
                if self._closing.is_set():
                    return
                continue
            if self._cancel.is_set():
                self._failed(channel, message, 0, "not sent: the gameday ended before it could be delivered")
                continue
            result = post_json(channel.url, channel.payload(message), self._policy, cancel=self._cancel, deadline=self._deadline)
            if result.ok:
                with self._sent_lock:
                    self.sent += 1
            else:
                self._failed(channel, message, result.attempts, result.error)

    def _deadline(self) -> float:
        return self._close_by

    def _failed(self, channel: Channel, message: Message, attempts: int, error: str) -> None:
        logger.debug("notification to %s about %s given up after %d attempts: %s", channel.name, message.about, attempts, error)
        event = NotificationFailed(at=time.time(), channel=channel.name, about=message.about, attempts=attempts, error=error)
        try:
            self._on_failure(event)
        except Exception:  # the gameday goes on whatever the journal's sink does
            logger.exception("could not record the failed notification about %s", message.about)
