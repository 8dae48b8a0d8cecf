"""process_version.comment: why a version was deployed

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 00:00:00

The studio's catalogue lists each process version with who deployed it, when and why; `comment` is
the why (NULL for versions deployed before it existed). Declared the same way on
engine.models.ProcessVersion.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('process_version', schema=None) as batch_op:
        batch_op.drop_column('comment')
