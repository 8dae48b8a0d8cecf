"""support requests («Обращения»), their messages and attachments; applications filed by the support line

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 00:00:00

Declared the same way in tasks/support/models.py.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'support_counter',
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('year'),
    )
    op.create_table(
        'support_request',
        sa.Column('id', BIG, autoincrement=True, nullable=False),
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('type', sa.String(length=30), nullable=False),
        sa.Column('case_number', sa.String(length=20), nullable=True),
        sa.Column('instance_id', BIG, nullable=True),
        sa.Column('appeal_number', sa.String(length=30), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['owner_id'], ['app_user.id'], name='fk_support_request_owner_id'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number', name='uq_support_request_number'),
    )
    op.create_index('ix_support_request_owner_id', 'support_request', ['owner_id'])
    op.create_index('ix_support_request_instance_id', 'support_request', ['instance_id'])
    op.create_table(
        'support_message',
        sa.Column('id', BIG, autoincrement=True, nullable=False),
        sa.Column('request_id', BIG, nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('dedup_key', sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['support_request.id'], ondelete='CASCADE',
                                name='fk_support_message_request_id'),
        sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name='fk_support_message_author_id'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedup_key', name='uq_support_message_dedup_key'),
    )
    op.create_index('ix_support_message_request_id', 'support_message', ['request_id'])
    op.create_table(
        'support_attachment',
        sa.Column('id', BIG, autoincrement=True, nullable=False),
        sa.Column('message_id', BIG, nullable=False),
        sa.Column('document_id', BIG, nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['support_message.id'], ondelete='CASCADE',
                                name='fk_support_attachment_message_id'),
        sa.ForeignKeyConstraint(['document_id'], ['document.id'], name='fk_support_attachment_document_id'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_support_attachment_message_id', 'support_attachment', ['message_id'])
    op.create_table(
        'assisted_filing',
        sa.Column('id', BIG, autoincrement=True, nullable=False),
        sa.Column('application_id', BIG, nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('identified_by', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'], name='fk_assisted_filing_application_id'),
        sa.ForeignKeyConstraint(['staff_id'], ['app_user.id'], name='fk_assisted_filing_staff_id'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('application_id', name='uq_assisted_filing_application_id'),
    )


def downgrade():
    op.drop_table('assisted_filing')
    op.drop_index('ix_support_attachment_message_id', table_name='support_attachment')
    op.drop_table('support_attachment')
    op.drop_index('ix_support_message_request_id', table_name='support_message')
    op.drop_table('support_message')
    op.drop_index('ix_support_request_instance_id', table_name='support_request')
    op.drop_index('ix_support_request_owner_id', table_name='support_request')
    op.drop_table('support_request')
    op.drop_table('support_counter')
