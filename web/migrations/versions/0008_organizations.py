"""organizations: organisations, representatives and colleague access grants

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 00:00:00

`organization` is an employer known by its ИНН; `organization_representative` records, for each
organisation's application, the account that applied, its ФИО then, the position and the authority
(head, or a power of attorney with its number, dates and scan); `case_access_grant` is read access
the applicant gave an e-mail address to one case or to all the organisation's cases they applied for,
optionally until a date (revoked grants are kept with revoked_at). Declared the same way on tasks.cases.models.organizations.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'organization',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('inn', sa.String(length=10), nullable=False),
        sa.Column('kpp', sa.String(length=9), nullable=False),
        sa.Column('ogrn', sa.String(length=13), nullable=False),
        sa.Column('name', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('inn', name='uq_organization_inn'),
    )

    op.create_table(
        'organization_representative',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('application_id', BIG_ID, nullable=False),
        sa.Column('organization_id', BIG_ID, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('full_name', sa.String(length=200), nullable=False),
        sa.Column('position', sa.String(length=200), nullable=False),
        sa.Column('authority', sa.String(length=20), nullable=False),
        sa.Column('poa_number', sa.String(length=50), nullable=True),
        sa.Column('poa_issued_on', sa.Date(), nullable=True),
        sa.Column('poa_valid_to', sa.Date(), nullable=True),
        sa.Column('poa_document_id', BIG_ID, nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'], ondelete='CASCADE',
                                name='fk_organization_representative_application_id'),
        sa.ForeignKeyConstraint(['organization_id'], ['organization.id'],
                                name='fk_organization_representative_organization_id'),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name='fk_organization_representative_user_id'),
        sa.ForeignKeyConstraint(['poa_document_id'], ['document.id'], ondelete='SET NULL',
                                name='fk_organization_representative_poa_document_id'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('application_id', name='uq_organization_representative_application_id'),
    )
    with op.batch_alter_table('organization_representative', schema=None) as batch_op:
        batch_op.create_index('ix_organization_representative_org_user', ['organization_id', 'user_id'],
                              unique=False)
        batch_op.create_index('ix_organization_representative_user_id', ['user_id'], unique=False)

    op.create_table(
        'case_access_grant',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('organization_id', BIG_ID, nullable=False),
        sa.Column('application_id', BIG_ID, nullable=True),
        sa.Column('grantor_id', sa.Integer(), nullable=False),
        sa.Column('grantee_email', sa.String(length=254), nullable=False),
        sa.Column('expires_at', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['organization_id'], ['organization.id'],
                                name='fk_case_access_grant_organization_id'),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'], ondelete='CASCADE',
                                name='fk_case_access_grant_application_id'),
        sa.ForeignKeyConstraint(['grantor_id'], ['app_user.id'], name='fk_case_access_grant_grantor_id'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('case_access_grant', schema=None) as batch_op:
        batch_op.create_index('ix_case_access_grant_grantee', ['grantee_email', 'revoked_at'], unique=False)
        batch_op.create_index('ix_case_access_grant_organization_id', ['organization_id'], unique=False)
        batch_op.create_index('ix_case_access_grant_application_id', ['application_id'], unique=False)
        batch_op.create_index('ix_case_access_grant_grantor_id', ['grantor_id'], unique=False)


def downgrade():
    with op.batch_alter_table('case_access_grant', schema=None) as batch_op:
        batch_op.drop_index('ix_case_access_grant_grantor_id')
        batch_op.drop_index('ix_case_access_grant_application_id')
        batch_op.drop_index('ix_case_access_grant_organization_id')
        batch_op.drop_index('ix_case_access_grant_grantee')
    op.drop_table('case_access_grant')
    with op.batch_alter_table('organization_representative', schema=None) as batch_op:
        batch_op.drop_index('ix_organization_representative_user_id')
        batch_op.drop_index('ix_organization_representative_org_user')
    op.drop_table('organization_representative')
    op.drop_table('organization')
