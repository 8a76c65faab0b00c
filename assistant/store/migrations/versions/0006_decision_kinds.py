"""Decision kinds and clarifications: what kind of reply each decision was (KB answer, clarification, template,
escalation, moderation, silence), the choices a clarification offered, how a pick was made, and the text a short
follow-up was read as (with the previous question).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the mapping at this revision, for rows decided before it: the engine's reply_kind said which
# template an ANSWER used ("faq" for an entry's answer, "rephrase" for a clarification, intent_* for templates).
BACKFILL = """
UPDATE decisions SET kind = CASE
    WHEN action = 'answer' AND reply_kind = 'faq' THEN 'kb_answer'
    WHEN action = 'answer' AND reply_kind IN ('rephrase', 'choices') THEN 'clarification'
    WHEN action = 'answer' THEN 'template'
    WHEN action = 'escalate' THEN 'escalation'
    WHEN action = 'moderate' THEN 'moderation'
    ELSE 'silence'
END
WHERE kind IS NULL
"""


def json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=True))
        batch.add_column(sa.Column("choices", json(), nullable=True))
        batch.add_column(sa.Column("picked", sa.String(16), nullable=True))
        batch.add_column(sa.Column("read_as", sa.Text(), nullable=True))
    op.execute(BACKFILL)
    # Reports count decisions by kind over a time window.
    op.create_index("ix_decisions_kind_created_at", "decisions", ["kind", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_decisions_kind_created_at", table_name="decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("read_as")
        batch.drop_column("picked")
        batch.drop_column("choices")
        batch.drop_column("kind")
