"""held_message, process_instance (process_id, completed), analytics_day.rolled_at

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-06 00:00:00

- held_message: a message sent to a suspended instance waits here until the instance is resumed.
- ix_process_instance_process_completed: /metrics counts cases started and finished per process; with
  this index PostgreSQL answers from the index alone instead of reading every instance row (and its state).
- analytics_day.rolled_at: when the scheduled roll-up summed the day, so the analytics page can say how
  fresh its figures are.
Declared the same way on engine.models and tasks.analytics.models.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'held_message',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True, autoincrement=True),
        sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  sa.ForeignKey('process_instance.id', name='fk_held_message_instance_id'), nullable=False),
        sa.Column('message_name', sa.String(200), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('actor', sa.String(200), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_held_message_instance_id', 'held_message', ['instance_id'])
    op.create_index('ix_process_instance_process_completed', 'process_instance', ['process_id', 'completed'])
    with op.batch_alter_table('analytics_day') as batch:
        batch.add_column(sa.Column('rolled_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('analytics_day') as batch:
        batch.drop_column('rolled_at')
    op.drop_index('ix_process_instance_process_completed', table_name='process_instance')
    op.drop_index('ix_held_message_instance_id', table_name='held_message')
    op.drop_table('held_message')
