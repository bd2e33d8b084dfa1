"""gateway_keys.secret holds SM4-sealed secrets (``sm4:`` + base64 of IV, ciphertext and tag)

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gateway_keys") as batch:
        batch.alter_column("secret", existing_type=sa.String(128), type_=sa.String(256), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("gateway_keys") as batch:
        batch.alter_column("secret", existing_type=sa.String(256), type_=sa.String(128), existing_nullable=False)
