"""an index on settlements.setl_time (the console's newest-first list, period reports)

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_settlements_time", "settlements", ["setl_time"])


def downgrade() -> None:
    op.drop_index("ix_settlements_time", table_name="settlements")
