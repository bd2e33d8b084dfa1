"""gateway keys, interface files, code lists, API users; filings.detail

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 16:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gateway_keys',
    sa.Column('access_key', sa.String(length=64), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
    sa.Column('algorithm', sa.String(length=12), nullable=False),
    sa.Column('sm2_public_key', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('access_key', name=op.f('pk_gateway_keys'))
    )
    op.create_index(op.f('ix_gateway_keys_fixmedins_code'), 'gateway_keys', ['fixmedins_code'], unique=False)
    op.create_table('interface_files',
    sa.Column('file_qury_no', sa.String(length=30), nullable=False),
    sa.Column('owner', sa.String(length=30), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('infno', sa.String(length=6), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data_cnt', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('dld_endtime', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('file_qury_no', name=op.f('pk_interface_files'))
    )
    op.create_index('ix_interface_files_owner', 'interface_files', ['owner', 'created_at'], unique=False)
    op.create_table('code_lists',
    sa.Column('list_kind', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('ver', sa.String(length=20), nullable=False),
    sa.Column('begndate', sa.Date(), nullable=True),
    sa.Column('enddate', sa.Date(), nullable=True),
    sa.Column('vali_flag', sa.String(length=3), nullable=False),
    sa.Column('memo', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('list_kind', 'code', name=op.f('pk_code_lists'))
    )
    op.create_table('api_users',
    sa.Column('username', sa.String(length=50), nullable=False),
    sa.Column('display_name', sa.String(length=50), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('username', name=op.f('pk_api_users'))
    )
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detail', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.drop_column('detail')
    op.drop_table('api_users')
    op.drop_table('code_lists')
    op.drop_index('ix_interface_files_owner', table_name='interface_files')
    op.drop_table('interface_files')
    op.drop_index(op.f('ix_gateway_keys_fixmedins_code'), table_name='gateway_keys')
    op.drop_table('gateway_keys')
