"""Who a console account is: an agent works queues, an editor keeps the KB, an admin does both and more."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    AGENT = "agent"
    EDITOR = "editor"
    ADMIN = "admin"


# The stored strings, in the order people are shown them (CLI choices, the console's role lists).
ROLES: tuple[str, ...] = tuple(role.value for role in Role)
