"""Persistence for community-assistant: conversations, messages, decisions, escalations and idempotent sends.
SQLite by default, PostgreSQL by URL; the schema comes only from Alembic migrations (`migrate(url)`)."""

# Imported here so every table is on `Base.metadata` whenever the store is (Alembic, schema checks).
from assistant.store import accounts as accounts
from assistant.store import kb_store as kb_store
from assistant.store.db import DEFAULT_DATABASE_URL, current_revision, head_revision, make_engine, migrate
from assistant.store.repository import (
    ConversationRecord,
    DecisionRecord,
    EscalationRecord,
    MessageRecord,
    NotFoundError,
    OutboundRecord,
    Store,
)

__all__ = [
    "DEFAULT_DATABASE_URL",
    "ConversationRecord",
    "DecisionRecord",
    "EscalationRecord",
    "MessageRecord",
    "NotFoundError",
    "OutboundRecord",
    "Store",
    "current_revision",
    "head_revision",
    "make_engine",
    "migrate",
]
