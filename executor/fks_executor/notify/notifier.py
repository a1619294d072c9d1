"""Delivery, off the order path (docs/notifications.md#delivery).

The audit trail calls :meth:`Notifier.on_audit` for every line it records; that call maps the
line (:func:`~fks_executor.notify.events.notice_for`) and appends the notice to each
destination's queue, and does nothing else: no I/O, no waiting, no exception out of it. One
task per destination then posts its notices in order:

- **bounded queue**: at most ``QUEUE_SIZE`` notices wait per destination; when full, the
  OLDEST waiting notice is dropped for the new one (counted:
  ``fks_notifications_total{result="dropped"}``). An alert never waits for room.
- **retries**: a 5xx, a 429, a timeout or no connection is tried again, up to ``ATTEMPTS``
  times, with exponential backoff (tenacity); any other answer (4xx: a deleted webhook, a
  revoked token) is final. Either way the notice ends ``sent`` or ``failed`` in the metric.
- **rate limit per destination**: posts to one destination are at least its service's
  interval apart (``MIN_INTERVAL``), and a 429's Retry-After (Slack, Discord) or
  ``parameters.retry_after`` (Telegram) holds the next post back that long.

The URL or bot token is in the request only: log lines name the destination by its
``name`` and type, errors by their class, never by their text (which may quote the URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import httpx
import orjson
from prometheus_client import CollectorRegistry, Counter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from fks_executor.config import ExecutorConfig, NotificationConfig, ResolvedSecrets
from fks_executor.notify.events import Notice, notice_for
from fks_executor.notify.services import Delivery, build_delivery, retry_after, valid_url

__all__ = ["ATTEMPTS", "MIN_INTERVAL", "QUEUE_SIZE", "Notifier", "NotifyMetrics"]

log = logging.getLogger("fks_executor.notify")
# httpx logs every request's URL at INFO: a webhook URL or a bot token would reach the log.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

QUEUE_SIZE = 100
ATTEMPTS = 5
TIMEOUT = httpx.Timeout(5.0, connect=2.0)
#: Seconds between two posts to one destination: Slack allows about one message per second
#: per incoming webhook, Discord five per two seconds per webhook, Telegram about one per
#: second per chat.
MIN_INTERVAL: Mapping[str, float] = {"slack": 1.0, "discord": 0.5, "telegram": 1.0, "webhook": 0.0}


class _Retry(Exception):
    """A failure another attempt may fix: 5xx, 429, a timeout, no connection."""


class _Final(Exception):
    """A failure no retry fixes: any other non-2xx answer."""


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.notices = Counter(
            "fks_notifications_total",
            "Notifications by destination, event and result (sent, failed after retries or "
            "refused, dropped from a full queue)",
            ["notification", "event", "result"],
            registry=registry,
        )
        self.retries = Counter(
            "fks_notification_retries_total",
            "Notification posts tried again (5xx, 429, timeout, no connection)",
            ["notification"],
            registry=registry,
        )


class Channel:
    """One destination: its queue, its pacing, its worker."""

    def __init__(
        self,
        target: NotificationConfig,
        secret: str,
        client: httpx.AsyncClient,
        metrics: NotifyMetrics,
        *,
        capacity: int = QUEUE_SIZE,
        backoff: float = 0.5,
    ) -> None:
        self.target = target
        self._secret = secret
        self._client = client
        self._metrics = metrics
        self._events = frozenset(target.events)
        self._queue: deque[Notice] = deque()
        self._capacity = capacity
        self._wake = asyncio.Event()
        self._busy = False
        self._interval = MIN_INTERVAL[target.type]
        self._not_before = 0.0
        self._backoff = backoff

    @property
    def idle(self) -> bool:
        return not self._queue and not self._busy

    def offer(self, notice: Notice) -> None:
        if notice.event not in self._events:
            return
        if len(self._queue) >= self._capacity:
            dropped = self._queue.popleft()
            self._count(dropped, "dropped")
        self._queue.append(notice)
        self._wake.set()

    async def run(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            notice = self._queue.popleft()
            self._busy = True
            try:
                await self._deliver(notice)
            finally:
                self._busy = False

    def _count(self, notice: Notice, result: str) -> None:
        self._metrics.notices.labels(self.target.name, notice.event, result).inc()

    async def _deliver(self, notice: Notice) -> None:
        delivery = build_delivery(self.target, self._secret, notice)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(ATTEMPTS),
            wait=wait_exponential(multiplier=self._backoff, max=30) + wait_random(0, 0.1),
            retry=retry_if_exception_type(_Retry),
            before_sleep=self._retrying,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._post(delivery)
        except (_Retry, _Final) as exc:
            self._count(notice, "failed")
            log.warning(
                "notification %s (%s): %s not delivered: %s",
                self.target.name,
                self.target.type,
                notice.event,
                exc,
            )
            return
        self._count(notice, "sent")

    def _retrying(self, state: RetryCallState) -> None:
        self._metrics.retries.labels(self.target.name).inc()

    async def _post(self, delivery: Delivery) -> None:
        wait = self._not_before - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            response = await self._client.post(
                delivery.url,
                content=orjson.dumps(delivery.body),
                headers={"content-type": "application/json"},
            )
        except httpx.TransportError as exc:  # timeouts, refused/reset connections, DNS
            raise _Retry(f"no answer ({type(exc).__name__})") from None
        except (httpx.RequestError, httpx.InvalidURL) as exc:  # redirects, a URL httpx refuses
            raise _Final(type(exc).__name__) from None
        finally:
            self._not_before = time.monotonic() + self._interval
        status = response.status_code
        if status == 429:
            asked = retry_after(dict(response.headers), response.content)
            if asked is not None:
                self._not_before = max(self._not_before, time.monotonic() + asked)
            raise _Retry("HTTP 429 (rate limited)")
        if status >= 500:
            raise _Retry(f"HTTP {status}")
        if not 200 <= status < 300:
            raise _Final(f"HTTP {status}")


class Notifier:
    """Every destination of the config, fed from the audit trail."""

    def __init__(
        self,
        config: ExecutorConfig,
        secrets: ResolvedSecrets,
        registry: CollectorRegistry,
        *,
        backoff: float = 0.5,
    ) -> None:
        self._metrics = NotifyMetrics(registry)
        self._client = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)
        self._dry_run = config.dry_run
        self._live = frozenset(a.name for a in config.accounts if a.environment == "live")
        self._channels: list[Channel] = []
        self._tasks: list[asyncio.Task[None]] = []
        for target in config.notifications:
            # (a Secret made from a file often ends in a newline)
            secret = secrets.notifications[target.name].get_secret_value().strip()
            if not valid_url(target, secret):
                log.warning(
                    "notification %s (%s) is off: its Secret does not hold %s",
                    target.name,
                    target.type,
                    "a bot token" if target.type == "telegram" else "an http(s) URL",
                )
                continue
            self._channels.append(
                Channel(target, secret, self._client, self._metrics, backoff=backoff)
            )

    def on_audit(self, record: Mapping[str, Any]) -> None:
        """The audit trail's listener: map, enqueue, return. Never raises."""
        try:
            notice = notice_for(record, live_accounts=self._live, dry_run=self._dry_run)
            if notice is not None:
                for channel in self._channels:
                    channel.offer(notice)
        except Exception:  # a bug in a notification must not fail the decision it reports
            log.exception("could not queue a notification")

    async def start(self) -> None:
        for channel in self._channels:
            task = asyncio.create_task(channel.run(), name=f"fks-notify-{channel.target.name}")
            self._tasks.append(task)

    async def close(self, grace: float = 2.0) -> None:
        """Give queued notices up to ``grace`` seconds to go out, then stop."""
        deadline = time.monotonic() + grace
        while self._tasks and time.monotonic() < deadline:
            if all(channel.idle for channel in self._channels):
                break
            await asyncio.sleep(0.05)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self._client.aclose()
