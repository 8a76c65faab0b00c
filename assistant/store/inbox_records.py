"""The records of the agents' inbox (`assistant.store.agent_inbox`): its filters, a row and a page of it, search
hits and the customer panel's conversations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from assistant.store.records import EscalationListItem

SCOPES = ("all", "mine", "unassigned")
INBOX_STATUSES = ("active", "open", "claimed", "resolved")


@dataclass(frozen=True)
class InboxFilters:
    """Which escalations an inbox lists. `queues`: the queues the caller may see (None: every queue, admins);
    `scope` mine: held by `agent_id`, unassigned: held by nobody; `status` active: open or claimed."""

    queues: tuple[str, ...] | None
    agent_id: int | None = None
    scope: str = "all"
    status: str = "active"
    queue: str | None = None
    platform: str | None = None
    language: str | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, not {self.scope!r}")
        if self.status not in INBOX_STATUSES:
            raise ValueError(f"status must be one of {INBOX_STATUSES}, not {self.status!r}")


@dataclass(frozen=True)
class InboxRow:
    """One escalation of the inbox. `waiting_since`: while it is active, the customer's first message since the
    last reply by a person in the conversation (None: a person answered last, or it is resolved)."""

    item: EscalationListItem
    labels: tuple[str, ...]
    waiting_since: datetime | None


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class SearchHit:
    """A conversation whose messages contain every word searched: its latest matching message and the latest
    escalation the caller may open."""

    conversation_id: int
    escalation_id: int
    queue: str
    platform: str
    sender_name: str | None
    message_id: int
    author: str
    text: str
    at: datetime


@dataclass(frozen=True)
class CustomerConversation:
    """Another conversation of the same platform user. `escalation_id`/`preview` only when the caller may open it."""

    conversation_id: int
    platform: str
    sender_name: str | None
    started_at: datetime
    last_message_at: datetime | None
    messages: int
    escalations: int
    latest_status: str | None
    latest_queue: str | None
    escalation_id: int | None
    preview: str | None
    labels: tuple[str, ...]
