"""registers: issued employee registers (PDF + XLSX)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 00:00:00

An organisation's register is stored as a `certificate` row of kind 'register': it is numbered,
QR-coded and verified like a person's certificate, so one table keeps one verification path.
`kind` tells them apart (existing rows are certificates); `xlsx_storage_key` and `xlsx_sha256`
locate the register's XLSX copy (NULL for certificates). Declared the same way on
tasks.cases.models.cases.Certificate.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=False, server_default='certificate'))
        batch_op.add_column(sa.Column('xlsx_storage_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('xlsx_sha256', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_column('xlsx_sha256')
        batch_op.drop_column('xlsx_storage_key')
        batch_op.drop_column('kind')
