"""The header's links: the pages a package adds for some roles (the inbox), and which queues a signed-in person sees
there (the queues package replaces the default with the configured queues the person may work)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from assistant.domain.roles import Role
from assistant.settings import Settings
from assistant.store import UserRecord

QUEUE_LINKS_EXTENSION = "console.queue_links"
NAV_LINKS_EXTENSION = "console.nav_links"


@dataclass(frozen=True)
class QueueLink:
    name: str
    label: str
    href: str


QueueLinks = Callable[[UserRecord], list[QueueLink]]


@dataclass(frozen=True)
class NavLink:
    """A page in the header, before the queues, for the roles listed (admins see every one)."""

    name: str
    label: str
    href: str
    roles: tuple[str, ...]


def add_nav_link(app: Flask, link: NavLink) -> None:
    app.extensions.setdefault(NAV_LINKS_EXTENSION, []).append(link)


def nav_links(app: Flask, user: UserRecord) -> list[NavLink]:
    """The header's page links `user` may follow."""
    links: list[NavLink] = app.extensions.get(NAV_LINKS_EXTENSION, [])
    return [link for link in links if user.role == Role.ADMIN or user.role in link.roles]


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
