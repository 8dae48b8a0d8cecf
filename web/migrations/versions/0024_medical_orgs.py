"""the medical organisations directory: our copy of the registry's list and the record of its refreshes

Revision ID: 0024_medical_orgs
Revises: 0023
Create Date: 2026-12-06 00:00:00

Declared the same way in tasks/directory/models.py. On PostgreSQL the normalised search column gets a
trigram GiST index (pg_trgm, a trusted extension: the database owner may create it), which the typo-tolerant
name search uses; SQLite searches without it (tasks/directory/search.py).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0024_medical_orgs'
down_revision = '0023'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade():
    op.create_table(
        'medical_organization',
        sa.Column('id', BIG, autoincrement=True, nullable=False),
        sa.Column('ogrn', sa.String(length=13), nullable=False),
        sa.Column('inn', sa.String(length=10), nullable=False),
        sa.Column('name', sa.String(length=1000), nullable=False),
        sa.Column('short_name', sa.String(length=500), nullable=False),
        sa.Column('address', sa.String(length=1000), nullable=False),
        sa.Column('legal_address', sa.String(length=1000), nullable=True),
        sa.Column('phone', sa.String(length=100), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('region', sa.String(length=200), nullable=True),
        sa.Column('programs', JSON, nullable=False),
        sa.Column('specialties', JSON, nullable=False),
        sa.Column('license_valid_to', sa.Date(), nullable=True),
        sa.Column('accredited', sa.Boolean(), nullable=False),
        sa.Column('record', JSON, nullable=False),
        sa.Column('search_text', sa.Text(), nullable=False),
        sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ogrn', name='uq_medical_organization_ogrn'),
    )
    op.create_index('ix_medical_organization_inn', 'medical_organization', ['inn'])
    op.create_index('ix_medical_organization_region', 'medical_organization', ['region'])
    op.create_table(
        'medical_organization_refresh',
        sa.Column('id', BIG, autoincrement=True, nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('succeeded', sa.Boolean(), nullable=False),
        sa.Column('organizations', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_medical_organization_refresh_started_at', 'medical_organization_refresh', ['started_at'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        # GiST rather than GIN: it also serves the ordering by word-similarity distance (`<->>`), so the
        # best twenty of thousands of matches come straight from the index.
        op.execute('CREATE INDEX ix_medical_organization_search_trgm ON medical_organization '
                   'USING gist (search_text gist_trgm_ops)')
        # Prefix searches of an ИНН or ОГРН (LIKE '7707%') whatever the database's collation.
        op.execute('CREATE INDEX ix_medical_organization_inn_prefix ON medical_organization '
                   '(inn varchar_pattern_ops)')
        op.execute('CREATE INDEX ix_medical_organization_ogrn_prefix ON medical_organization '
                   '(ogrn varchar_pattern_ops)')
        # Programme and specialty filters are JSONB containment tests.
        op.execute('CREATE INDEX ix_medical_organization_programs ON medical_organization USING gin (programs)')
        op.execute('CREATE INDEX ix_medical_organization_specialties ON medical_organization '
                   'USING gin (specialties)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_medical_organization_specialties')
        op.execute('DROP INDEX IF EXISTS ix_medical_organization_programs')
        op.execute('DROP INDEX IF EXISTS ix_medical_organization_ogrn_prefix')
        op.execute('DROP INDEX IF EXISTS ix_medical_organization_inn_prefix')
        op.execute('DROP INDEX IF EXISTS ix_medical_organization_search_trgm')
    op.drop_index('ix_medical_organization_refresh_started_at', table_name='medical_organization_refresh')
    op.drop_table('medical_organization_refresh')
    op.drop_index('ix_medical_organization_region', table_name='medical_organization')
    op.drop_index('ix_medical_organization_inn', table_name='medical_organization')
    op.drop_table('medical_organization')
