"""Durable inbox and outbox (issue 12): the `inbox` table of verified webhook events, stored before the webhook
answers; a due time and the reply target on outbound rows, so a sweeper can deliver a reply whose task was lost;
the received length of a message cut at the service's limit.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:00:00

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INBOX_STATUS = "status IN ('received', 'done', 'failed')"


def json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def moment() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("payload", json(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", moment(), nullable=False),
        sa.Column("due_at", moment(), nullable=False),
        sa.Column("done_at", moment(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(INBOX_STATUS, name=op.f("ck_inbox_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("platform", "event_id", name="uq_inbox_platform_event"),
    )
    op.create_index(op.f("ix_inbox_status_due_at"), "inbox", ["status", "due_at"])
    with op.batch_alter_table("outbound") as batch:
        batch.add_column(sa.Column("due_at", moment(), nullable=True))
        batch.add_column(sa.Column("reply_target", json(), nullable=True))
    # Rows reserved before this revision are due now: a pending one whose task was lost gets delivered.
    op.execute("UPDATE outbound SET due_at = created_at WHERE due_at IS NULL")
    op.create_index(op.f("ix_outbound_status_due_at"), "outbound", ["status", "due_at"])
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("received_chars", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("received_chars")
    op.drop_index(op.f("ix_outbound_status_due_at"), table_name="outbound")
    with op.batch_alter_table("outbound") as batch:
        batch.drop_column("reply_target")
        batch.drop_column("due_at")
    op.drop_index(op.f("ix_inbox_status_due_at"), table_name="inbox")
    op.drop_table("inbox")
