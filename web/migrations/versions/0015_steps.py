"""step: every completed pass of a case through a diagram element; daily roll-ups for the analytics

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 00:00:00

The path a case took and the times at each element, for the case's diagram and the step analytics.
Declared the same way on engine.models.Step; the covering index serves the analytics' period scan.
analytics_day, step_day, step_day_hist and flow_day (tasks.analytics.models) hold each finished day's figures.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'step',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('element', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=50), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=True),
        sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('actor', sa.String(length=200), nullable=True),
        sa.Column('details', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_step_instance_id', 'step', ['instance_id'])
    op.create_index('ix_step_process_ended', 'step', ['process_id', 'ended_at'],
                    postgresql_include=['element', 'source', 'instance_id', 'entered_at', 'started_at', 'due_at'])


    op.create_table(
        'analytics_day',
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('process_id', 'day'),
    )
    op.create_table(
        'step_day',
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('element', sa.String(length=200), nullable=False),
        sa.Column('passes', sa.Integer(), nullable=False),
        sa.Column('with_due', sa.Integer(), nullable=False),
        sa.Column('late', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('process_id', 'day', 'element'),
    )
    op.create_table(
        'step_day_hist',
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('element', sa.String(length=200), nullable=False),
        sa.Column('measure', sa.String(length=1), nullable=False),
        sa.Column('bucket', sa.Integer(), nullable=False),
        sa.Column('passes', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('process_id', 'day', 'element', 'measure', 'bucket'),
    )
    op.create_table(
        'flow_day',
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('target', sa.String(length=200), nullable=False),
        sa.Column('cases', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('process_id', 'day', 'source', 'target'),
    )


def downgrade():
    op.drop_table('flow_day')
    op.drop_table('step_day_hist')
    op.drop_table('step_day')
    op.drop_table('analytics_day')
    op.drop_index('ix_step_process_ended', table_name='step')
    op.drop_index('ix_step_instance_id', table_name='step')
    op.drop_table('step')
