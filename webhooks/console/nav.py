"""The header's queue links: which queues a signed-in person sees there (the queues package replaces the default
with the configured queues the person may work)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from assistant.domain.roles import Role
from assistant.settings import Settings
from assistant.store import UserRecord

QUEUE_LINKS_EXTENSION = "console.queue_links"


@dataclass(frozen=True)
class QueueLink:
    name: str
    label: str
    href: str


QueueLinks = Callable[[UserRecord], list[QueueLink]]


def default_queue_links(settings: Settings) -> QueueLinks:
    """Admins see every configured queue, everyone else the queues they belong to."""

    def links(user: UserRecord) -> list[QueueLink]:
        configured = {queue.name: queue.label for queue in settings.console.queues}
        names = list(configured) if user.role == Role.ADMIN else [name for name in user.queues]
        return [QueueLink(name, configured.get(name, name), f"/console/queues/{name}") for name in names]

    return links


def set_queue_links(app: Flask, links: QueueLinks) -> None:
    """Replace how the header lists queues (QUEUES may add counts or its own URLs)."""
    app.extensions[QUEUE_LINKS_EXTENSION] = links
