"""batches: many requests asked for at once (batch, batch_row), requests linked to their batch, and outbox
rows of a batch (no request of their own) or grouped into one post

Revision ID: 0012
Revises: try0001
Create Date: 2026-12-12
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "try0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(), nullable=True),
        sa.Column("channel_id", sa.String(), nullable=False),
        sa.Column("requester_id", sa.String(), nullable=False),
        sa.Column("thread_ts", sa.String(), nullable=True),
        sa.Column("file_id", sa.String(), nullable=True),
        sa.Column("file_name", sa.String(), nullable=True),
        sa.Column("voice_name", sa.String(), nullable=True),
        sa.Column("model_name", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("refusal", sa.Text(), nullable=True),
        sa.Column("card_channel_id", sa.String(), nullable=True),
        sa.Column("card_ts", sa.String(), nullable=True),
        sa.Column("submitted_by", sa.String(), nullable=True),
        sa.Column("submitted_at", _AT, nullable=True),
        sa.Column("cancelled_by", sa.String(), nullable=True),
        sa.Column("approval_status", sa.String(), nullable=True),
        sa.Column("approval_by", sa.String(), nullable=True),
        sa.Column("approval_at", _AT, nullable=True),
        sa.Column("approval_reason", sa.Text(), nullable=True),
        sa.Column("expires_at", _AT, nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.Column("finished_at", _AT, nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_until", _AT, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_requester_id"), ["requester_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_batch_status"), ["status"], unique=False)
    op.create_table(
        "batch_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("photo_url", sa.Text(), nullable=True),
        sa.Column("slack_file_id", sa.String(), nullable=True),
        sa.Column("voice_name", sa.String(), nullable=True),
        sa.Column("model_name", sa.String(), nullable=True),
        sa.Column("for_cell", sa.Text(), nullable=True),
        sa.Column("likeness", sa.String(), nullable=True),
        sa.Column("depicted_id", sa.String(), nullable=True),
        sa.Column("verdict", sa.String(), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("preflight_findings", sa.String(), nullable=True),
        sa.Column("tavus_verdict", sa.Text(), nullable=True),
        sa.Column("tavus_checked_at", _AT, nullable=True),
        sa.Column("photo_key", sa.String(), nullable=True),
        sa.Column("train_image_url", sa.Text(), nullable=True),
        sa.Column("checked_at", _AT, nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_until", _AT, nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"]),
        sa.ForeignKeyConstraint(["request_id"], ["replica_request.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("batch_id", "row_number", name="uq_batch_row_number"),
        sa.UniqueConstraint("request_id"),
    )
    with op.batch_alter_table("batch_row", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_row_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_batch_row_depicted_id"), ["depicted_id"], unique=False)
    with op.batch_alter_table("replica_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_replica_request_batch_id"), ["batch_id"], unique=False)
        batch_op.create_foreign_key("fk_replica_request_batch_id", "batch", ["batch_id"], ["id"])
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.alter_column("request_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("group_lead", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_message_batch_id"), ["batch_id"], unique=False)
        batch_op.create_foreign_key("fk_outbox_message_batch_id", "batch", ["batch_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outbox_message_batch_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbox_message_batch_id"))
        batch_op.drop_column("group_lead")
        batch_op.drop_column("batch_id")
    op.execute("DELETE FROM outbox_message WHERE request_id IS NULL")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.alter_column("request_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("replica_request", schema=None) as batch_op:
        batch_op.drop_constraint("fk_replica_request_batch_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_replica_request_batch_id"))
        batch_op.drop_column("batch_id")
    with op.batch_alter_table("batch_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_row_depicted_id"))
        batch_op.drop_index(batch_op.f("ix_batch_row_batch_id"))
    op.drop_table("batch_row")
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_status"))
        batch_op.drop_index(batch_op.f("ix_batch_requester_id"))
    op.drop_table("batch")
