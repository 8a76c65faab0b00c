"""Agent console: who holds an escalation, SLA breaches and versions; reply targets; notes, canned replies,
suggestion feedback and content-gap candidates.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:00:00

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Names below go through op.f(): they are final, the target metadata's naming convention must not wrap them.
# Frozen copies of the value lists at this revision: a migration must not change when the models do.
OUTBOUND_AUTHOR = "author IN ('bot', 'agent')"
VERDICT = "verdict IN ('right', 'wrong', 'missing')"


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def add_user_reference(table: str, column: str) -> None:
    """A nullable users.id column that becomes NULL when the user is deleted.

    SQLite cannot add a constraint to an existing table, so there batch mode rebuilds the table (keeping its
    indexes, the partial unique one included, and its named CHECK constraints).
    """
    name = op.f(f"fk_{table}_{column}_users")
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column(column, sa.Integer(), nullable=True))
        batch.create_foreign_key(name, "users", [column], ["id"], ondelete="SET NULL")


def upgrade() -> None:
    op.add_column("conversations", sa.Column("reply_target", json(), nullable=True))
    add_user_reference("messages", "agent_id")
    add_user_reference("escalations", "assigned_agent_id")
    op.add_column("escalations", sa.Column("claimed_at", utc(), nullable=True))
    op.add_column("escalations", sa.Column("sla_breached_at", utc(), nullable=True))
    # SQLite refuses a non-constant default on ADD COLUMN: start from a constant, then copy created_at.
    if op.get_context().dialect.name == "sqlite":
        op.execute("ALTER TABLE escalations ADD COLUMN updated_at DATETIME NOT NULL DEFAULT '1970-01-01 00:00:00'")
        op.execute("UPDATE escalations SET updated_at = created_at")
    else:
        op.add_column("escalations", sa.Column("updated_at", utc(), nullable=True))
        op.execute("UPDATE escalations SET updated_at = created_at")
        op.alter_column("escalations", "updated_at", nullable=False)
    op.add_column("escalations", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    # Claimed escalations from before the console have no holder; they go back to open so someone claims them.
    op.execute("UPDATE escalations SET status = 'open' WHERE status = 'claimed'")
    op.create_index(op.f("ix_escalations_updated_at"), "escalations", ["updated_at"])
    op.create_index(op.f("ix_escalations_assigned_status"), "escalations", ["assigned_agent_id", "status"])
    op.create_index(op.f("ix_escalations_status_due"), "escalations", ["status", "sla_due_at"])
    # A CHECK on a new column: inline on SQLite (no ALTER … ADD CONSTRAINT there), separate on PostgreSQL.
    if op.get_context().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE outbound ADD COLUMN author VARCHAR(16) NOT NULL DEFAULT 'bot' "
            f"CONSTRAINT ck_outbound_author CHECK ({OUTBOUND_AUTHOR})"
        )
    else:
        op.add_column("outbound", sa.Column("author", sa.String(16), nullable=False, server_default="bot"))
        op.create_check_constraint(op.f("ck_outbound_author"), "outbound", OUTBOUND_AUTHOR)
    add_user_reference("outbound", "agent_id")

    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_notes_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
            name=op.f("fk_notes_escalation_id_escalations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notes_user_id_users"), ondelete="SET NULL"),
    )
    op.create_index(op.f("ix_notes_conversation_created"), "notes", ["conversation_id", "created_at"])
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shortcode", sa.String(64), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        # Empty string: for every queue (a NULL would not take part in the unique constraint).
        sa.Column("queue", sa.String(64), nullable=False, server_default=""),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_canned_replies_created_by_users"), ondelete="SET NULL"
        ),
        sa.UniqueConstraint("shortcode", "language", "queue", name=op.f("uq_canned_replies_shortcode_language_queue")),
    )
    op.create_table(
        "suggestion_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("entry_id", sa.String(255), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_feedback")),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
            name=op.f("fk_suggestion_feedback_escalation_id_escalations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_suggestion_feedback_user_id_users"), ondelete="SET NULL"
        ),
        sa.CheckConstraint(VERDICT, name=op.f("ck_suggestion_feedback_verdict")),
    )
    op.create_index(op.f("ix_suggestion_feedback_at"), "suggestion_feedback", ["at"])
    op.create_index(op.f("ix_suggestion_feedback_escalation_id"), "suggestion_feedback", ["escalation_id"])
    op.create_table(
        "gap_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gap_candidates")),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
            name=op.f("fk_gap_candidates_escalation_id_escalations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_gap_candidates_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_gap_candidates_user_id_users"), ondelete="SET NULL"
        ),
    )
    op.create_index(op.f("ix_gap_candidates_at"), "gap_candidates", ["at"])


def downgrade() -> None:
    op.drop_table("gap_candidates")
    op.drop_table("suggestion_feedback")
    op.drop_table("canned_replies")
    op.drop_table("notes")
    op.drop_index(op.f("ix_escalations_status_due"), table_name="escalations")
    op.drop_index(op.f("ix_escalations_assigned_status"), table_name="escalations")
    op.drop_index(op.f("ix_escalations_updated_at"), table_name="escalations")
    # SQLite (3.35+) drops plain columns in place; columns with constraints need the batch rebuild.
    with op.batch_alter_table("outbound") as batch:
        batch.drop_constraint(op.f("ck_outbound_author"), type_="check")
        batch.drop_column("agent_id")
        batch.drop_column("author")
    with op.batch_alter_table("escalations") as batch:
        for column in ("version", "updated_at", "sla_breached_at", "claimed_at", "assigned_agent_id"):
            batch.drop_column(column)
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("agent_id")
    op.drop_column("conversations", "reply_target")
