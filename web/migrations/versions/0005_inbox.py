"""staff inbox: saved filters, search columns and indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 00:00:00

- `application.snils` (digits only, indexed): the inbox finds a case by СНИЛС with one index lookup
  instead of reading every application's JSON; existing rows are filled from `data.person.snils`.
- `application.search_name` and `process_instance.business_key` (the case number) get a
  `varchar_pattern_ops` index on PostgreSQL, so the inbox's prefix searches (`LIKE 'иванов%'`,
  `LIKE '2026-0001%'`) are index ranges under any collation (SQLite keeps its plain indexes).
- `human_task` indexes for the queue pages at 100,000 open tasks: «Все» sorted by due date or by
  the date received, a role's queue sorted by the date received, and `ix_human_task_queue_cover`
  (role, status, due_at, created_at, spec_name, id), which replaces the engine's
  `ix_human_task_queue` (its prefix) and lets queue totals and SLA counts read only the index.
  These are declared on engine.models.HumanTask too. The PostgreSQL-only prefix indexes above and
  the dashboard's partial index on `journal` (decision rows only) live here only: they are specific
  to this application's queries and its database, not part of the generic engine tables.
- `inbox_saved_filter`: a staff member's named query strings.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

BATCH = 500


def _digits(value):
    return "".join(ch for ch in str(value or "") if ch.isdigit()) or None


def _backfill_snils(bind):
    application = sa.table('application', sa.column('id', sa.BigInteger()), sa.column('data', sa.JSON()),
                           sa.column('snils', sa.String()))
    last = 0
    while True:
        rows = bind.execute(sa.select(application.c.id, application.c.data).where(application.c.id > last)
                            .order_by(application.c.id).limit(BATCH)).all()
        if not rows:
            return
        for row_id, data in rows:
            snils = _digits(((data or {}).get('person') or {}).get('snils'))
            if snils and len(snils) == 11:
                bind.execute(application.update().where(application.c.id == row_id).values(snils=snils))
        last = rows[-1][0]


def upgrade():
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snils', sa.String(length=11), nullable=True))
        batch_op.create_index('ix_application_snils', ['snils'], unique=False)
    _backfill_snils(bind)
    if postgres:
        op.create_index('ix_application_search_name_prefix', 'application', ['search_name'],
                        postgresql_ops={'search_name': 'varchar_pattern_ops'})
        op.create_index('ix_process_instance_business_key_prefix', 'process_instance', ['business_key'],
                        postgresql_ops={'business_key': 'varchar_pattern_ops'})

    op.create_index('ix_human_task_status_due', 'human_task', ['status', 'due_at'])
    op.create_index('ix_human_task_status_created', 'human_task', ['status', 'created_at'])
    op.create_index('ix_human_task_role_created', 'human_task', ['role', 'status', 'created_at'])

    op.create_table(
        'inbox_saved_filter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('query', sa.String(length=1000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name='fk_inbox_saved_filter_user_id',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'name', name='uq_inbox_saved_filter_name'),
    )
    op.create_index('ix_inbox_saved_filter_user_id', 'inbox_saved_filter', ['user_id'])
    # The supervisor dashboard's decisions by time (tasks/analytics/figures.py): only decision rows, so small.
    op.create_index('ix_journal_decision_at', 'journal', ['at'],
                    postgresql_where=sa.text("event = 'status_changed' AND message IN ('ready', 'rejected', 'closed')"),
                    sqlite_where=sa.text("event = 'status_changed' AND message IN ('ready', 'rejected', 'closed')"))
    # Queue totals and SLA counts (tasks/inbox/queries.py queue_stats, the dashboard) as index-only scans
    # over a role's open tasks; the (role, status, due_at) prefix serves the page by due date too
    # (measured with benchmarks/inbox.py).
    op.create_index('ix_human_task_queue_cover', 'human_task',
                    ['role', 'status', 'due_at', 'created_at', 'spec_name', 'id'])
    # Its (role, status, due_at) prefix is the old queue index: one index less to maintain on every write.
    op.drop_index('ix_human_task_queue', table_name='human_task')


def downgrade():
    op.create_index('ix_human_task_queue', 'human_task', ['role', 'status', 'due_at'])
    op.drop_index('ix_human_task_queue_cover', table_name='human_task')
    op.drop_index('ix_journal_decision_at', table_name='journal')
    op.drop_index('ix_inbox_saved_filter_user_id', table_name='inbox_saved_filter')
    op.drop_table('inbox_saved_filter')
    op.drop_index('ix_human_task_role_created', table_name='human_task')
    op.drop_index('ix_human_task_status_created', table_name='human_task')
    op.drop_index('ix_human_task_status_due', table_name='human_task')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_process_instance_business_key_prefix', table_name='process_instance')
        op.drop_index('ix_application_search_name_prefix', table_name='application')
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('ix_application_snils')
        batch_op.drop_column('snils')
