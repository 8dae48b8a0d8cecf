"""The service catalogue: which services citizens apply for, read from ``services.toml`` beside the diagrams.

Every place that used to name the two certificate services (submission, the portal's service list,
the resubmission form, the staff's case screen, the dashboard, the API description) asks this
catalogue instead, so a new service is a BPMN process, its DMN and forms, and one table in
``services.toml`` - no page or submission code of its own.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

FILE_NAME = "services.toml"
BUNDLED = Path(__file__).resolve().parent.parent.parent / "workflows" / FILE_NAME
APPLICANT_KINDS = ("individual", "organization")


class CatalogueError(ValueError):
    """services.toml is malformed (a missing key, an unknown applicant kind, two defaults for one kind)."""


@dataclass(frozen=True)
class Service:
    id: str
    title: str
    summary: str
    process: str
    schema: str
    applicant: str
    default: bool = False
    apply_page: str | None = None
    apply_label: str = "Подать заявление"
    receipt_title: str | None = None  # the service as the receipt PDF names it (default: title)
    # The words of the shared chain (notices, the refusal decision, the case page, the staff's review forms);
    # the defaults are the certificate's, so a service names only what differs (services.toml explains each).
    about: str = "о выдаче справки о наличии полиса ОМС"
    goal: str = "получить справку"
    grant: str = "выдать справку"
    progress_text: str = ("Заявление рассматривается. Когда справка будет готова, мы сообщим по электронной почте, "
                          "а на этой странице появится ссылка для скачивания.")
    approved_text: str | None = None  # None: approval issues a document, which the case page offers instead
    refusal_heading: str = "В выдаче справки отказано"
    refused: str = "в выдаче справки"
    refused_what: str = "в выдаче справки о наличии полиса ОМС"
    sms_name: str = "Справка ОМС"  # how an SMS about a case of the service begins («Справка ОМС: …»)

    def words(self) -> dict[str, str]:
        """The placeholders a shared form schema may use (`{grant}` in a label), for forms.wording."""
        return {"about": self.about, "goal": self.goal, "grant": self.grant, "refused": self.refused,
                "refused_what": self.refused_what}


def catalogue_path() -> Path:
    """``services.toml`` in the installed configuration's workflows folder, else the bundled one (test diagram
    folders have none, and code that runs before an entry point installed a configuration reads the bundled)."""
    from tasks.process import installed_config  # the process module builds on the case modules

    config = installed_config()
    if config is None or config.engine is None:
        return BUNDLED
    configured = config.settings.workflows_dir / FILE_NAME
    return configured if configured.exists() else BUNDLED


def services() -> tuple[Service, ...]:
    """Every service, in the file's order."""
    return _load(catalogue_path())


@cache
def _load(path: Path) -> tuple[Service, ...]:
    raw = tomllib.loads(path.read_text(encoding="utf-8")).get("services")
    if not isinstance(raw, dict) or not raw:
        raise CatalogueError(f"{path}: no [services.<id>] tables")
    result = []
    for key, entry in raw.items():
        missing = [k for k in ("title", "summary", "process", "schema", "applicant") if not entry.get(k)]
        if missing:
            raise CatalogueError(f"{path}: service {key} lacks {', '.join(missing)}")
        if entry["applicant"] not in APPLICANT_KINDS:
            raise CatalogueError(f"{path}: service {key}: applicant must be one of {', '.join(APPLICANT_KINDS)}")
        known = {f for f in Service.__dataclass_fields__ if f != "id"}
        unknown = set(entry) - known
        if unknown:
            raise CatalogueError(f"{path}: service {key}: unknown keys {', '.join(sorted(unknown))}")
        result.append(Service(id=key, **entry))
    for kind in APPLICANT_KINDS:
        if sum(1 for s in result if s.applicant == kind and s.default) > 1:
            raise CatalogueError(f"{path}: more than one default service for applicant {kind}")
    return tuple(result)


def service(service_id: str) -> Service | None:
    return next((s for s in services() if s.id == service_id), None)


def service_of_process(process_id: str) -> Service | None:
    """The service whose process a case runs (a case's `process_id`)."""
    return next((s for s in services() if s.process == process_id), None)


def wording_of(data: dict[str, Any]) -> Service:
    """The service whose words a case's notices and decisions use (a case no longer catalogued: the certificate's)."""
    return service_for(data) or default_service("individual") or Service("", "", "", "", "", "individual")


def default_service(applicant: str) -> Service | None:
    return next((s for s in services() if s.applicant == applicant and s.default), None)


def service_for(data: dict[str, Any]) -> Service | None:
    """The service an application asks for: its "service", else the default one of its "applicant" kind."""
    named = data.get("service")
    if named is not None:
        return service(named) if isinstance(named, str) else None
    kind = data.get("applicant", "individual")
    return default_service(kind) if isinstance(kind, str) else None


def application_schema(process_id: str, applicant: str) -> str:
    """The application schema of a case: its service's, else (a process no longer catalogued) its kind's default."""
    found = service_of_process(process_id) or default_service(applicant)
    if found is None:
        raise CatalogueError(f"no service for process {process_id} or applicant kind {applicant}")
    return found.schema


def case_processes() -> list[str]:
    """The process ids that are cases (one application each), for counts over cases."""
    return sorted({s.process for s in services()})
