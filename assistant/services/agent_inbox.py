"""What an agent does with the inbox: one list across the queues they may see (filters: mine / unassigned / all,
queue, status, platform, language, label), full-text search over conversations, a conversation's customer
(their other conversations), and labels. Access: a conversation is the caller's when one of its escalations is in
a queue they may see (admins: every queue); refusals raise the library's kinds (BadInput, Forbidden, NotFound)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from assistant.domain.labels import normalise_label
from assistant.domain.roles import Role
from assistant.errors import BadInput, Forbidden, NotFound
from assistant.services.common import Audit, utc_now
from assistant.settings import Settings
from assistant.store import ConsoleStore, NotFoundError, UserRecord
from assistant.store.inbox_records import (
    INBOX_STATUSES,
    SCOPES,
    CustomerConversation,
    InboxFilters,
    InboxPage,
    SearchHit,
)

MAX_QUERY_CHARS = 200


@dataclass(frozen=True)
class InboxQuery:
    """The inbox's filters as a person or an API caller gives them (None: no filter)."""

    scope: str = "all"
    status: str = "active"
    queue: str | None = None
    platform: str | None = None
    language: str | None = None
    label: str | None = None
    page: int = 1


@dataclass(frozen=True)
class InboxListing:
    page: InboxPage
    query: InboxQuery
    queues: list[str]  # the queues the caller may filter by
    now: datetime


@dataclass(frozen=True)
class CustomerView:
    conversation_id: int
    platform: str
    sender_id: str | None
    sender_name: str | None
    labels: tuple[str, ...]
    others: list[CustomerConversation]


@dataclass(frozen=True)
class InboxDeps:
    console: ConsoleStore
    settings: Settings
    audit: Audit
    now: Callable[[], datetime] = field(default=utc_now)


class AgentInbox:
    """The inbox as `user` may see it."""

    def __init__(self, deps: InboxDeps, user: UserRecord) -> None:
        self.deps = deps
        self.user = user
        self.store = deps.console

    @property
    def visible_queues(self) -> tuple[str, ...] | None:
        """None for admins (every queue), else the queues the user belongs to."""
        return None if self.user.role == Role.ADMIN else tuple(self.user.queues)

    def queue_names(self) -> list[str]:
        configured = [queue.name for queue in self.deps.settings.console.queues]
        visible = self.visible_queues
        return (
            configured
            if visible is None
            else [name for name in configured if name in visible] + sorted(set(visible) - set(configured))
        )

    def listing(self, query: InboxQuery) -> InboxListing:
        if query.scope not in SCOPES:
            raise BadInput(f"scope must be one of {', '.join(SCOPES)}")
        if query.status not in INBOX_STATUSES:
            raise BadInput(f"status must be one of {', '.join(INBOX_STATUSES)}")
        visible = self.visible_queues
        if query.queue is not None and visible is not None and query.queue not in visible:
            raise Forbidden(f"you are not a member of queue {query.queue!r}")
        filters = InboxFilters(
            queues=visible,
            agent_id=self.user.id,
            scope=query.scope,
            status=query.status,
            queue=query.queue,
            platform=query.platform,
            language=query.language,
            label=normalise_label(query.label) if query.label else None,
        )
        page = self.store.inbox_page(filters, max(1, query.page), self.deps.settings.console.inbox_page_size)
        return InboxListing(page, query, self.queue_names(), self.deps.now())

    def filter_choices(self) -> tuple[list[str], list[str], list[str]]:
        """Platforms, languages (those the bot serves) and labels to offer in the filters."""
        return self.store.platforms(), list(self.deps.settings.languages), self.store.known_labels()

    def search(self, text: str) -> list[SearchHit]:
        if len(text) > MAX_QUERY_CHARS:
            raise BadInput(f"the search is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}")
        return self.store.search_conversations(text, self.visible_queues, self.deps.settings.console.inbox_page_size)

    def _conversation(self, conversation_id: int) -> None:
        """NotFound for no such conversation, Forbidden when none of its escalations is in the caller's queues."""
        try:
            queues = self.store.conversation_queues(conversation_id)
        except NotFoundError as error:
            raise NotFound(f"no conversation {conversation_id}") from error
        visible = self.visible_queues
        if visible is not None and not queues & set(visible):
            raise Forbidden(f"conversation {conversation_id} has no escalation in your queues")

    def customer(self, conversation_id: int) -> CustomerView:
        self._conversation(conversation_id)
        conversation = self.store.conversation_record(conversation_id)
        return CustomerView(
            conversation_id=conversation.id,
            platform=conversation.platform,
            sender_id=conversation.sender_id,
            sender_name=conversation.sender_name,
            labels=self.store.labels(conversation_id),
            others=self.store.customer_conversations(conversation_id, self.visible_queues),
        )

    def labels(self, conversation_id: int) -> tuple[str, ...]:
        self._conversation(conversation_id)
        return self.store.labels(conversation_id)

    def add_label(self, conversation_id: int, label: str) -> tuple[str, ...]:
        name = normalise_label(label)
        self._conversation(conversation_id)
        if self.store.add_label(conversation_id, name, self.user.id):
            self.deps.audit("add_label", "conversation", conversation_id, label=name)
        return self.store.labels(conversation_id)

    def remove_label(self, conversation_id: int, label: str) -> tuple[str, ...]:
        name = normalise_label(label)
        self._conversation(conversation_id)
        if self.store.remove_label(conversation_id, name):
            self.deps.audit("remove_label", "conversation", conversation_id, label=name)
        return self.store.labels(conversation_id)
