"""Per request: what Tavus said about the photo before submission, and what was chosen when it objected

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("replica_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tavus_verdict", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("photo_choice", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("photo_choice_by", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("photo_choice_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replica_request", schema=None) as batch_op:
        batch_op.drop_column("photo_choice_at")
        batch_op.drop_column("photo_choice_by")
        batch_op.drop_column("photo_choice")
        batch_op.drop_column("tavus_verdict")
