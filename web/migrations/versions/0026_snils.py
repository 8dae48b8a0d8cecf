"""СНИЛС in the account profile: it pre-fills applications and, without a ЕНП, finds «Мой полис»

Revision ID: 0026_snils
Revises: 0025_appointments
Create Date: 2026-12-06 00:00:00

Declared the same way on tasks.accounts.models.User.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0026_snils'
down_revision = '0025_appointments'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('app_user') as batch:
        batch.add_column(sa.Column('snils', sa.String(length=11), nullable=True))


def downgrade():
    with op.batch_alter_table('app_user') as batch:
        batch.drop_column('snils')
