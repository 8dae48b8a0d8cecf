"""Reading and checking an organisation's list of employees (CSV or XLSX), reports and templates.

    read_employee_list(data, filename, progress=None) -> EmployeeList   (raises EmployeeFileError)
    problems_report_xlsx(data, filename, result) -> bytes                (the rows with problems marked)
    template_xlsx(), template_csv() -> bytes
    neutralise(value)                                                     (used by every export)

The modules: limits (hard limits), sniff (what the bytes are, zip-bomb checks), csv_table and
xlsx_table (file -> Table), columns (tolerant headers), values and checks (one cell), rows (one
row, duplicates), reader (the whole path), report, templates, neutralise.
"""

from .columns import COLUMNS, OPTIONAL_FIELDS, REQUIRED_FIELDS
from .errors import EmployeeFileError
from .limits import MAX_BYTES, MAX_COLUMNS, MAX_ROWS
from .model import EmployeeList, RowProblem
from .neutralise import neutralise
from .reader import read_employee_list
from .report import problems_report_xlsx
from .templates import template_csv, template_xlsx

LIMITS = {"max_bytes": MAX_BYTES, "max_rows": MAX_ROWS, "max_columns": MAX_COLUMNS}

__all__ = [
    "COLUMNS",
    "LIMITS",
    "MAX_BYTES",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "OPTIONAL_FIELDS",
    "REQUIRED_FIELDS",
    "EmployeeFileError",
    "EmployeeList",
    "RowProblem",
    "neutralise",
    "problems_report_xlsx",
    "read_employee_list",
    "template_csv",
    "template_xlsx",
]
