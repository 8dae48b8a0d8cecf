"""process_current and process_draft: the version new cases get, and the studio's drafts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 00:00:00

`process_current` points each process at the version new cases start on (a deploy moves it to its
new version, a rollback to an earlier one); a process without a row starts on its newest version,
so existing deployments keep working unchanged. `process_draft` holds the files an analyst uploaded
and the four-eyes review's state. Declared the same way on engine.models.ProcessCurrent and
tasks.studio.models.ProcessDraft.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'process_current',
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('set_by', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['version_id'], ['process_version.id']),
        sa.PrimaryKeyConstraint('process_id'),
    )
    op.create_table(
        'process_draft',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('files', sa.JSON(), nullable=False),
        sa.Column('author', sa.String(length=254), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('proposer', sa.String(length=254), nullable=True),
        sa.Column('approver', sa.String(length=254), nullable=True),
        sa.Column('deployed', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_process_draft_status', 'process_draft', ['status'])


def downgrade():
    op.drop_index('ix_process_draft_status', table_name='process_draft')
    op.drop_table('process_draft')
    op.drop_table('process_current')
