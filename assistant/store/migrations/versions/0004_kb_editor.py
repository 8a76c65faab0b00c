"""Knowledge-base editor: entries with a workflow status and a working version, and every saved version.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:45:00

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the status list at this revision: a migration must not change when the models do.
STATUS = "status IN ('draft', 'review', 'published', 'archived')"


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "kb_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tags", json(), nullable=False),
        sa.Column("questions", json(), nullable=False),
        sa.Column("answers", json(), nullable=False),
        sa.Column("source_file", sa.String(255), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("updated_at", utc(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_entries")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_kb_entries_entry_id")),
        sa.CheckConstraint(STATUS, name=op.f("ck_kb_entries_status")),
    )
    op.create_table(
        "kb_entry_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", json(), nullable=False),
        sa.Column("author", sa.String(64), nullable=True),
        sa.Column("at", utc(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_entry_versions")),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["kb_entries.entry_id"],
            name=op.f("fk_kb_entry_versions_entry_id_kb_entries"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("entry_id", "version", name=op.f("uq_kb_entry_versions_entry_id_version")),
    )


def downgrade() -> None:
    op.drop_table("kb_entry_versions")
    op.drop_table("kb_entries")
