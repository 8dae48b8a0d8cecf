"""Tables of doctor's appointments: the booking, the clinic slots it holds, and the booking numbers.

The booking's state (pending, confirmed, moving, cancelling, cancelled, failed, expired, visited) is the
status its process instance sets (workflows/appointment.bpmn); the row holds what was booked, so the cabinet
can show it without asking the clinic.

A slot is held by at most one booking: `appointment_slot_hold.slot_id` is the primary key, so of two
citizens who ask for one slot at once exactly one insert succeeds, whatever the database; the other
is told at once, before any clinic is called. A move holds the new slot next to the old one until the
clinic confirms it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.models import BigId


class AppointmentCounter(Base):
    """The last booking number handed out per year (Z-2026-000017)."""

    __tablename__ = "appointment_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class Appointment(Base):
    __tablename__ = "appointment"
    __table_args__ = (UniqueConstraint("number", name="uq_appointment_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", name="fk_appointment_owner_id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(BigId, index=True)
    certificate_number: Mapped[str] = mapped_column(String(40))
    ogrn: Mapped[str] = mapped_column(String(13))
    specialty: Mapped[str] = mapped_column(String(100))
    slot_id: Mapped[str] = mapped_column(String(80))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The slot as the clinic described it (doctor, room, times) and the organisation's name and address.
    slot: Mapped[dict] = mapped_column(JSON)
    organization: Mapped[dict] = mapped_column(JSON)
    clinic_booking_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AppointmentSlotHold(Base):
    """A clinic slot taken by one of our bookings (its current slot, or the one it is moving to)."""

    __tablename__ = "appointment_slot_hold"

    slot_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id", ondelete="CASCADE",
                                                           name="fk_appointment_slot_hold_appointment_id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
