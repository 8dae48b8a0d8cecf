"""Service-task operators of the case processes, registered by name when the tasks package is imported:
certificates.* and notify.* (certificates), decisions.*, appeals.* and cases.* (refusals), employees.* and
registers.* (employees)."""
