"""Operations for supervisors and administrators: incidents, timers, cancelling and suspending cases."""
