"""faces: the model per request and phoenix-4.5's tuning stage

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("replica_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_name", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("finetune_status", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("preview_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replica_request", schema=None) as batch_op:
        batch_op.drop_column("preview_at")
        batch_op.drop_column("finetune_status")
        batch_op.drop_column("model_name")
