"""instance_migration and instance_migration_case: runs that move running cases to another version

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 00:00:00

One row per run (its counters are the progress the page shows) and one per case it moved or could
not move; a moved case keeps its previous state, projection and version for a revert. Declared the
same way on engine.migration_models.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'instance_migration',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('source_version_id', sa.Integer(), nullable=False),
        sa.Column('target_version_id', sa.Integer(), nullable=False),
        sa.Column('source_version', sa.Integer(), nullable=False),
        sa.Column('target_version', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('processed', sa.Integer(), nullable=False),
        sa.Column('migrated', sa.Integer(), nullable=False),
        sa.Column('blocked', sa.Integer(), nullable=False),
        sa.Column('reverted', sa.Integer(), nullable=False),
        sa.Column('kept', sa.Integer(), nullable=False),
        sa.Column('revert_actor', sa.String(length=200), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['source_version_id'], ['process_version.id']),
        sa.ForeignKeyConstraint(['target_version_id'], ['process_version.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_instance_migration_process_id', 'instance_migration', ['process_id'])
    op.create_table(
        'instance_migration_case',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('migration_id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('business_key', sa.String(length=100), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.JSON(), nullable=True),
        sa.Column('previous_version_id', sa.Integer(), nullable=True),
        sa.Column('previous_state', sa.Text(), nullable=True),
        sa.Column('previous_projection', sa.JSON(), nullable=True),
        sa.Column('migrated_digest', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['migration_id'], ['instance_migration.id']),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_instance_migration_case_run', 'instance_migration_case',
                    ['migration_id', 'status', 'instance_id'])
    op.create_index('ix_instance_migration_case_instance_id', 'instance_migration_case', ['instance_id'])


def downgrade():
    op.drop_index('ix_instance_migration_case_instance_id', table_name='instance_migration_case')
    op.drop_index('ix_instance_migration_case_run', table_name='instance_migration_case')
    op.drop_table('instance_migration_case')
    op.drop_index('ix_instance_migration_process_id', table_name='instance_migration')
    op.drop_table('instance_migration')
