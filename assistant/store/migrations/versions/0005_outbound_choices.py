"""Outbound choices: the quick replies / buttons a reply offers ("Did you mean: …"), kept with the reserved send so a
retried or resumed delivery sends the same buttons as the first attempt would have.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # NULL: no choices (every row before this revision, and every person's reply from the console).
    op.add_column("outbound", sa.Column("choices", json(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound") as batch:
        batch.drop_column("choices")
