"""the complete account: ЕНП and ИНН in the profile, deleted accounts, e-mail changes, accepted legal documents

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 00:00:00

Declared the same way on tasks.accounts.models (User, EmailChange, LegalAcceptance).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('app_user') as batch:
        batch.add_column(sa.Column('enp', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('inn', sa.String(length=12), nullable=True))
        batch.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'email_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('new_email', sa.String(length=254), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name='fk_email_change_user_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', name='uq_email_change_user_id'),
    )
    op.create_table(
        'legal_acceptance',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('document', sa.String(length=40), nullable=False),
        sa.Column('version', sa.String(length=20), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name='fk_legal_acceptance_user_id'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_legal_acceptance_user_id', 'legal_acceptance', ['user_id'])


def downgrade():
    op.drop_index('ix_legal_acceptance_user_id', table_name='legal_acceptance')
    op.drop_table('legal_acceptance')
    op.drop_table('email_change')
    with op.batch_alter_table('app_user') as batch:
        batch.drop_column('deleted_at')
        batch.drop_column('inn')
        batch.drop_column('enp')
