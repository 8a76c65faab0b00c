"""One source of truth for the KB (issue 13): an entry's label (the name a team wrote where it is not a valid id)
kept in the editor's database too, now that every import goes there.

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-03 18:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_entries") as batch:
        batch.add_column(sa.Column("label", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kb_entries") as batch:
        batch.drop_column("label")
