"""whose face: the colleague's consent, approvals, and the record of every decision

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("replica_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("likeness", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("depicted_id", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("consent_status", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("consent_at", _AT, nullable=True))
        batch_op.add_column(sa.Column("consent_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("approval_status", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("approval_by", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("approval_at", _AT, nullable=True))
        batch_op.add_column(sa.Column("approval_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", _AT, nullable=True))
        batch_op.add_column(sa.Column("checked_at", _AT, nullable=True))
        batch_op.add_column(sa.Column("findings_accepted_at", _AT, nullable=True))
        batch_op.add_column(sa.Column("tavus_checked_at", _AT, nullable=True))
        batch_op.add_column(sa.Column("photo_key", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("thumbnail_url", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_replica_request_depicted_id"), ["depicted_id"], unique=False)
    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("by_user", sa.String(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["replica_request.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_at"))
        batch_op.drop_index(batch_op.f("ix_decision_request_id"))
    op.drop_table("decision")
    with op.batch_alter_table("replica_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replica_request_depicted_id"))
        for column in (
            "thumbnail_url", "photo_key", "tavus_checked_at", "findings_accepted_at", "checked_at",
            "expires_at", "approval_reason", "approval_at", "approval_by", "approval_status", "consent_note",
            "consent_at", "consent_status", "depicted_id", "likeness",
        ):
            batch_op.drop_column(column)
