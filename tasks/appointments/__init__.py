"""Booking a doctor with one's certificate («Запись к врачу»): the booking, its process's operators, notices."""
