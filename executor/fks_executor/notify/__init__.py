"""Notifications (docs/notifications.md): the executor's decisions, as recorded in its audit
trail, posted to Slack, Discord, Telegram or any webhook, off the order path.

    events     audit line -> Notice (which lines are events, their text); pure
    services   Notice -> the HTTP request each service's API wants; 429 waits; pure
    notifier   bounded queue, worker, retries and rate limit per destination
"""

from fks_executor.notify.events import Notice, notice_for
from fks_executor.notify.notifier import Notifier

__all__ = ["Notice", "Notifier", "notice_for"]
