"""employees: employee lists and per-employee registry results

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 00:00:00

`employee_list` is an organisation case's list of employees (one per case, replaced by each
upload); `employee` its accepted rows with the ЕРЗЛ result of the latest check. Declared the same
way on tasks.cases.models.employees.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'employee_list',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('application_id', BIG_ID, nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('total_rows', sa.Integer(), nullable=False),
        sa.Column('accepted', sa.Integer(), nullable=False),
        sa.Column('rejected', sa.Integer(), nullable=False),
        sa.Column('problems', sa.JSON(), nullable=False),
        sa.Column('error', sa.JSON(), nullable=True),
        sa.Column('report_key', sa.String(length=200), nullable=True),
        sa.Column('file_key', sa.String(length=200), nullable=True),
        sa.Column('progress_done', sa.Integer(), nullable=False),
        sa.Column('progress_total', sa.Integer(), nullable=False),
        sa.Column('locked_attempt', sa.Integer(), nullable=True),
        sa.Column('uploaded_by', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'], ondelete='CASCADE',
                                name='fk_employee_list_application_id'),
        sa.ForeignKeyConstraint(['uploaded_by'], ['app_user.id'], name='fk_employee_list_uploaded_by'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('application_id', name='uq_employee_list_application_id'),
    )
    op.create_table(
        'employee',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('application_id', BIG_ID, nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('row', sa.Integer(), nullable=False),
        sa.Column('last_name', sa.String(length=100), nullable=False),
        sa.Column('first_name', sa.String(length=100), nullable=False),
        sa.Column('middle_name', sa.String(length=100), nullable=True),
        sa.Column('birth_date', sa.Date(), nullable=False),
        sa.Column('inn', sa.String(length=12), nullable=True),
        sa.Column('position', sa.String(length=200), nullable=False),
        sa.Column('enp', sa.String(length=16), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('batch', sa.Integer(), nullable=True),
        sa.Column('result', sa.String(length=20), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('insurer_name', sa.String(length=300), nullable=True),
        sa.Column('insurer_code', sa.String(length=20), nullable=True),
        sa.Column('checked_attempt', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'], ondelete='CASCADE',
                                name='fk_employee_application_id'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('application_id', 'seq', name='uq_employee_application_seq'),
    )
    with op.batch_alter_table('employee', schema=None) as batch_op:
        batch_op.create_index('ix_employee_application_batch', ['application_id', 'batch'], unique=False)


def downgrade():
    with op.batch_alter_table('employee', schema=None) as batch_op:
        batch_op.drop_index('ix_employee_application_batch')
    op.drop_table('employee')
    op.drop_table('employee_list')
