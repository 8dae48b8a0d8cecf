"""The registry service standing for МВД, СФР, ФОМС ЕРЗЛ, ФНС ЕГРЮЛ and the register of medical organisations.

`backoffice registry` serves it; the endpoints are listed in app.py, the dataset shape in
dataset.py and README, the fault spec in faults.py.
"""

from .app import create_registry_app
from .dataset import DatasetError, load_dataset
from .faults import FaultSpecError, parse_faults

__all__ = ["DatasetError", "FaultSpecError", "create_registry_app", "load_dataset", "parse_faults"]
