"""Domain service-task operators and the worker/scheduler entry points.

Importing this package registers every operator of the product in engine.operators.
"""

from tasks.appointments import operators as _appointment_operators  # noqa: F401  (appointment.*)
from tasks.cases.operators import certificates as _case_operators  # noqa: F401  (registers certificates.*, notify.*)
from tasks.cases.operators import employees as _employee_operators  # noqa: F401  (employees.*, registers.*)
from tasks.cases.operators import refusals as _refusal_operators  # noqa: F401  (decisions.*, appeals.*, cases.*)
from tasks.registries import operators as _registry_operators  # noqa: F401  (registers registry.*)
from tasks.support import operators as _support_operators  # noqa: F401  (support.*)
