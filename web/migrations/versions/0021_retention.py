"""retention: when a document's file was deleted and when a case's personal data was minimised

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 00:00:00

The retention job (tasks/cases/retention.py) deletes the scans of closed cases and minimises their
personal data after configurable periods; these columns record that it did, so each happens once.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('document') as batch:
        batch.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('application') as batch:
        batch.add_column(sa.Column('minimised_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('application') as batch:
        batch.drop_column('minimised_at')
    with op.batch_alter_table('document') as batch:
        batch.drop_column('erased_at')
