"""doctor's appointments booked with a certificate: the booking, the slots it holds, booking numbers

Revision ID: 0025_appointments
Revises: 0024_medical_orgs
Create Date: 2026-12-06 00:00:00

Declared the same way in tasks/appointments/models.py.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0025_appointments'
down_revision = '0024_medical_orgs'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'appointment_counter',
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('year'),
    )
    op.create_table(
        'appointment',
        sa.Column('id', BIG, autoincrement=True, nullable=False),
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('instance_id', BIG, nullable=True),
        sa.Column('certificate_number', sa.String(length=40), nullable=False),
        sa.Column('ogrn', sa.String(length=13), nullable=False),
        sa.Column('specialty', sa.String(length=100), nullable=False),
        sa.Column('slot_id', sa.String(length=80), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('slot', sa.JSON(), nullable=False),
        sa.Column('organization', sa.JSON(), nullable=False),
        sa.Column('clinic_booking_id', sa.String(length=40), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['app_user.id'], name='fk_appointment_owner_id'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number', name='uq_appointment_number'),
    )
    op.create_index('ix_appointment_owner_id', 'appointment', ['owner_id'])
    op.create_index('ix_appointment_instance_id', 'appointment', ['instance_id'])
    op.create_table(
        'appointment_slot_hold',
        sa.Column('slot_id', sa.String(length=80), nullable=False),
        sa.Column('appointment_id', BIG, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], ondelete='CASCADE',
                                name='fk_appointment_slot_hold_appointment_id'),
        sa.PrimaryKeyConstraint('slot_id'),
    )
    op.create_index('ix_appointment_slot_hold_appointment_id', 'appointment_slot_hold', ['appointment_id'])


def downgrade():
    op.drop_table('appointment_slot_hold')
    op.drop_table('appointment')
    op.drop_table('appointment_counter')
