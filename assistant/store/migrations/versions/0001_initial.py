"""Initial schema: conversations, messages, decisions, escalations, outbound.

Revision ID: 0001
Revises:
Create Date: 2025-11-23 00:00:00

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Names below go through op.f(): they are final, the target metadata's naming convention must not wrap them.
# Frozen copies of the value lists at this revision: a migration must not change when the models do.
HANDOFF = "handoff IN ('bot', 'waiting_for_human', 'human', 'closed')"
DIRECTION = "direction IN ('in', 'out')"
AUTHOR = "author IN ('customer', 'bot', 'agent', 'system')"
ESCALATION_STATUS = "status IN ('open', 'claimed', 'resolved')"
ACTIVE_ESCALATION = "status IN ('open', 'claimed')"
OUTBOUND_STATUS = "status IN ('pending', 'sending', 'sent', 'failed', 'dead', 'unknown')"


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("conversation_key", sa.String(255), nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=True),
        sa.Column("sender_name", sa.String(255), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("handoff", sa.String(32), nullable=False),
        sa.Column("rephrase_asked", sa.Boolean(), nullable=False),
        sa.Column("holding_reply_sent", sa.Boolean(), nullable=False),
        sa.Column("assigned_agent", sa.String(255), nullable=True),
        sa.Column("last_inbound_at", utc(), nullable=True),
        sa.Column("last_bot_reply_at", utc(), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("platform", "conversation_key", name=op.f("uq_conversations_platform_key")),
        sa.CheckConstraint(HANDOFF, name=op.f("ck_conversations_handoff")),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("platform_event_id", sa.String(255), nullable=True),
        sa.Column("platform_message_id", sa.String(255), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("platform", "platform_event_id", name=op.f("uq_messages_platform_event")),
        sa.CheckConstraint(DIRECTION, name=op.f("ck_messages_direction")),
        sa.CheckConstraint(AUTHOR, name=op.f("ck_messages_author")),
    )
    op.create_index(op.f("ix_messages_conversation_created"), "messages", ["conversation_id", "created_at"])
    op.create_index(op.f("ix_messages_created_at"), "messages", ["created_at"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("entry_id", sa.String(255), nullable=True),
        sa.Column("intent", sa.String(128), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("reply_kind", sa.String(64), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("suggested_answer", sa.Text(), nullable=True),
        sa.Column("reasons", json(), nullable=False),
        sa.Column("scores", json(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_decisions_message_id_messages"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("message_id", name=op.f("uq_decisions_message_id")),
    )
    op.create_index(op.f("ix_decisions_created_at"), "decisions", ["created_at"])
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("suggested_answer", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sla_due_at", utc(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("first_response_at", utc(), nullable=True),
        sa.Column("resolved_at", utc(), nullable=True),
        sa.Column("helpdesk_ticket_id", sa.String(255), nullable=True),
        sa.Column("helpdesk_pushed_at", utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_escalations_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_escalations_message_id_messages"), ondelete="SET NULL"
        ),
        sa.CheckConstraint(ESCALATION_STATUS, name=op.f("ck_escalations_status")),
    )
    # Never two escalations needing a human in one conversation, even when two workers race.
    op.create_index(
        op.f("uq_escalations_active_conversation"),
        "escalations",
        ["conversation_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE_ESCALATION),
        postgresql_where=sa.text(ACTIVE_ESCALATION),
    )
    op.create_index(op.f("ix_escalations_queue_order"), "escalations", ["status", "queue", "priority", "sla_due_at"])
    op.create_index(op.f("ix_escalations_created_at"), "escalations", ["created_at"])
    op.create_index(op.f("ix_escalations_helpdesk_pushed_at"), "escalations", ["helpdesk_pushed_at"])
    op.create_table(
        "outbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("platform_message_id", sa.String(255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("sent_at", utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_outbound_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_outbound_message_id_messages"), ondelete="SET NULL"
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbound_idempotency_key")),
        sa.CheckConstraint(OUTBOUND_STATUS, name=op.f("ck_outbound_status")),
    )
    op.create_index(op.f("ix_outbound_conversation_id"), "outbound", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("outbound")
    op.drop_table("escalations")
    op.drop_table("decisions")
    op.drop_table("messages")
    op.drop_table("conversations")
