"""staff second factor (TOTP) and login hardening

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 00:00:00

`app_user.totp_secret` exists since 0002; this adds the last accepted TOTP time step, which makes
every code single-use. batch_alter_table lets SQLite (no ALTER ... DROP COLUMN before 3.35) take
the same migration as PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
