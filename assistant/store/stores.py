"""The entry classes callers use, each composed of the aggregate stores it needs; every aggregate is a
`Transactions` on the same engine, so a composed store is one engine and one pair of session factories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from assistant.store.agent_inbox import AgentInboxStore
from assistant.store.conversations import ConversationStore
from assistant.store.db import SUPPORTED_BACKENDS, make_engine
from assistant.store.escalations import EscalationStore
from assistant.store.inbox import InboxStore
from assistant.store.notes import NoteStore
from assistant.store.outbound import OutboundStore
from assistant.store.queues import QueueStore
from assistant.store.reports import ReportQueries


class Store(ConversationStore, EscalationStore, QueueStore, InboxStore, OutboundStore, ReportQueries):
    """Conversations, messages, decisions, escalations, the durable inbox and outbound sends on SQLite or PostgreSQL:
    what the webhooks, the worker, the helpdesk push, the reports and the command line use.

    The schema must already exist: run `assistant.store.db.migrate(url)` first (it is cheap when current).
    """

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name not in SUPPORTED_BACKENDS:
            raise ValueError(f"unsupported database {engine.dialect.name!r}; supported: {SUPPORTED_BACKENDS}")
        super().__init__(engine)

    @classmethod
    def from_url(cls, database_url: str, **engine_kwargs: Any) -> Store:
        return cls(make_engine(database_url, **engine_kwargs))

    def close(self) -> None:
        self.engine.dispose()


class ConsoleStore(EscalationStore, QueueStore, NoteStore, InboxStore, ReportQueries, AgentInboxStore):
    """What the agent console reads and changes: queues and their escalations (ordered, counted, claimed, moved),
    notes, canned replies, feedback on suggested answers, content-gap candidates, and the agents' inbox (lists
    across queues, search, customers, labels). Changes to an escalation lock its row and check it (status, holder
    and, when given, version), so concurrent agents cannot overwrite each other."""
