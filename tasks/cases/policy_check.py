"""The public policy check: ЕНП + birth date -> insurer and validity, nothing when they do not match.

Anyone may ask, so the answer must not let a stranger learn whose policy a number is: a wrong
birth date answers exactly like an unknown number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.registries.client import RegistryClient


@dataclass(frozen=True)
class PolicyStatus:
    found: bool
    status: str | None = None  # active | expired | annulled
    insurer: dict[str, Any] | None = None
    region: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None


def check_policy(client: RegistryClient, enp: str, birth_date: str) -> PolicyStatus:
    """Raises RegistryUnavailable when ЕРЗЛ cannot answer (the caller says «попробуйте позже»)."""
    record = client.post("erzl", "/erzl/policy", {"enp": enp})  # the ЕНП in the body, never in a URL
    if record is None or record.get("birth_date") != birth_date:
        return PolicyStatus(found=False)
    return PolicyStatus(True, record["status"], record.get("insurer"), record.get("region"),
                        record.get("valid_from"), record.get("valid_to"))
