"""A gate that refuses a transaction from within its statement (PostgreSQL): engine_gate_refused(reason)

A gate (engine/pending_rows.py) runs at the head of a transaction's one statement and decides whether the
transaction may go on. Deciding inside the statement, by raising this function's error, undoes everything
the statement did without a transaction around it: such a statement can then run on its own, with no BEGIN and
no COMMIT of its own round trips. The error's SQLSTATE (BOG01) is what the engine recognises.

Revision ID: 0027_gate_refusal
Revises: 0026_snils
Create Date: 2026-12-07 00:00:00
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0027_gate_refusal'
down_revision = '0026_snils'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    # VOLATILE (the default): never evaluated ahead of the CASE branch that calls it.
    op.execute("""
        CREATE OR REPLACE FUNCTION engine_gate_refused(reason text) RETURNS bigint LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION USING ERRCODE = 'BOG01', MESSAGE = reason;
        END
        $$""")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS engine_gate_refused(text)')
