"""The agents' inbox (issue 13): labels on conversations, the full-text index of message texts (SQLite FTS5 or a
PostgreSQL tsvector table with a GIN index, filled here from the messages already stored), and the indexes that
search results and the customer panel read by.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_labels",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_labels_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_conversation_labels_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("conversation_id", "label", name=op.f("pk_conversation_labels")),
    )
    op.create_index(op.f("ix_conversation_labels_label"), "conversation_labels", ["label"])
    op.create_index(op.f("ix_escalations_conversation_id"), "escalations", ["conversation_id"])
    op.create_index(op.f("ix_escalations_status_resolved"), "escalations", ["status", "resolved_at"])
    op.create_index(op.f("ix_conversations_platform_sender"), "conversations", ["platform", "sender_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE message_search (message_id integer PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE, "
            "document tsvector NOT NULL)"
        )
        op.execute(
            "INSERT INTO message_search (message_id, document) SELECT id, to_tsvector('simple', text) FROM messages"
        )
        op.execute("CREATE INDEX ix_message_search_document ON message_search USING gin (document)")
    else:
        # Contentless: the text stays in `messages`, the index holds its terms; rowid is the message id.
        op.execute(
            "CREATE VIRTUAL TABLE message_search USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute("INSERT INTO message_search (rowid, body) SELECT id, text FROM messages")


def downgrade() -> None:
    op.execute("DROP TABLE message_search")
    op.drop_index(op.f("ix_conversations_platform_sender"), table_name="conversations")
    op.drop_index(op.f("ix_escalations_status_resolved"), table_name="escalations")
    op.drop_index(op.f("ix_escalations_conversation_id"), table_name="escalations")
    op.drop_index(op.f("ix_conversation_labels_label"), table_name="conversation_labels")
    op.drop_table("conversation_labels")
