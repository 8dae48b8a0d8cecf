"""process_instance.suspended_at: a case put on hold by a supervisor

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 00:00:00

A suspended instance keeps its timers and service calls but the scheduler and the workers leave
them alone until it is resumed. Declared the same way on engine.models.ProcessInstance.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_instance') as batch:
        batch.add_column(sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('process_instance') as batch:
        batch.drop_column('suspended_at')
