"""process_draft.revision and updated_by: drafts edited in the browser

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 00:00:00

Each saved file change of a draft raises its revision; a save must name the revision it was made on,
so two analysts editing one draft never overwrite each other silently. Existing drafts start at 1.
Declared the same way on tasks.studio.models.ProcessDraft.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_draft') as batch:
        batch.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('updated_by', sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table('process_draft') as batch:
        batch.drop_column('updated_by')
        batch.drop_column('revision')
