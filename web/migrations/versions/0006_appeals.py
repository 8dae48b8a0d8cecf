"""resubmission and appeals: attempts, refusal decisions, appeals

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'application_attempt',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('application_id', BIG_ID, nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('document_ids', sa.JSON(), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['application.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('application_id', 'attempt', name='uq_application_attempt'),
    )
    with op.batch_alter_table('application_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_application_attempt_application_id', ['application_id'], unique=False)

    op.create_table(
        'refusal_decision',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('application_id', BIG_ID, nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.Column('explanation', sa.Text(), nullable=True),
        sa.Column('reply_until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('storage_key', sa.String(length=200), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['application.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number'),
    )
    with op.batch_alter_table('refusal_decision', schema=None) as batch_op:
        batch_op.create_index('ix_refusal_decision_application_id', ['application_id'], unique=False)

    op.create_table(
        'appeal',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('application_id', BIG_ID, nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('grounds', sa.Text(), nullable=False),
        sa.Column('document_ids', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=20), nullable=True),
        sa.Column('decision_comment', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['application.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number'),
    )
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.create_index('ix_appeal_application_id', ['application_id'], unique=False)
        batch_op.create_index('ix_appeal_due_at', ['due_at'], unique=False)


def downgrade():
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.drop_index('ix_appeal_due_at')
        batch_op.drop_index('ix_appeal_application_id')
    op.drop_table('appeal')
    with op.batch_alter_table('refusal_decision', schema=None) as batch_op:
        batch_op.drop_index('ix_refusal_decision_application_id')
    op.drop_table('refusal_decision')
    with op.batch_alter_table('application_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_application_attempt_application_id')
    op.drop_table('application_attempt')
