"""The whole case of a task on one screen: applicant, registry checks, documents, journal and the task's form.

What a decision needs comes first and short (`essentials`: the applicant's identifiers, the registry's
own spelling of a name that matches only up to ё/е; for an appeal the grounds, the request and answer,
and the refusal's reasons); the full application, documents and journal are there to unfold.

Read in the request's session in one go (the workflow data too: on SQLite a second transaction
would wait for the first). Opening it reads personal data, so the caller journals `case_viewed`
(who, when, which task) before the page or the JSON leaves the server - `record_case_view`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import utcnow
from engine.errors import NotFound
from engine.models import HumanTask, ProcessInstance
from engine.runtime import Runtime
from forms.dates import format_ru_date
from forms.rendering import SummarySection, summary
from forms.schema_walk import field_schema
from forms.validation import load_schema
from forms.wording import worded
from tasks.cases.audit import AuditRow, audit_rows
from tasks.cases.catalogue import Service, application_schema, wording_of
from tasks.cases.labels import reason_label, status_label
from tasks.cases.models.cases import Application
from tasks.cases.queries import case_status, document_view, documents_of
from tasks.cases.submission import applicant_name
from tasks.cases.uploads import DOCUMENT_KINDS
from tasks.inbox.queries import task_view
from tasks.inbox.staff import staff_names
from tasks.registries.matching import NAME_FIELDS

MATCH_LABELS = {"exact": "Полное совпадение", "fuzzy": "Совпадение с точностью до написания (регистр, ё/е, дефисы)",
                "partial": "Частичное совпадение (имя или отчество)", "mismatch": "Не совпадает"}
PASSPORT_STATUS = {"valid": "Действителен", "expired": "Истёк срок действия", "replaced": "Заменён",
                   "lost": "Утрачен"}
POLICY_STATUS = {"active": "Действует", "annulled": "Аннулирован", "expired": "Истёк"}
CHECKS = (("passport_check", "Паспорт (МВД)"), ("snils_check", "СНИЛС (СФР)"), ("policy_check", "Полис ОМС (ЕРЗЛ)"))
REGISTRY_NAMES = {"passport_check": "МВД", "snils_check": "СФР", "policy_check": "ЕРЗЛ"}
# The summary rows a decision needs, in the order staff read them (the rest folds away).
ESSENTIAL_ROWS = ("person.birth_date", "person.snils", "policy_number", "person.passport.issued_on",
                  "person.passport.division_code")
# The decision tables' outcome codes (workflows/*.dmn), as staff read them.
OUTCOME_LABELS = {"issue": "Выдать справку", "update": "Внести новые данные в ЕРЗЛ", "reject": "Отказать",
                  "review": "Передать оператору на проверку"}


@dataclass
class CheckView:
    name: str  # passport_check | snils_check | policy_check
    title: str
    done: bool  # the registry answered (False: no answer yet, or it was down)
    found: bool = False
    status: str | None = None
    match: str | None = None
    document_match: str | None = None
    mismatches: list[str] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self, raw: dict[str, Any] | None) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "done": self.done, "found": self.found,
                "status": self.status, "match": self.match, "document_match": self.document_match,
                "mismatches": self.mismatches, "result": raw}


@dataclass
class CaseScreen:
    task: dict[str, Any]
    instance_id: int
    version_id: int
    number: str | None
    application: Application | None
    status: str | None
    status_label: str | None
    applicant: str | None
    sections: list[SummarySection]
    checks: list[CheckView]
    raw_checks: dict[str, Any]
    verdict: dict[str, Any] | None
    documents: list[dict[str, Any]]
    journal: list[AuditRow]
    essentials: list[tuple[str, str]] = field(default_factory=list)
    registry_spelling: list[tuple[str, str]] = field(default_factory=list)  # (ФИО as spelled, registries)
    appeal: dict[str, Any] | None = None
    refusal: dict[str, Any] | None = None
    service: Service | None = None  # whose words the shared chain's forms use on this case

    @property
    def instructions_repeat_facts(self) -> bool:
        """The task's instructions only restate what the appeal or verdict panel already shows."""
        text = self.task.get("instructions") or ""
        note = (self.verdict or {}).get("note")
        return self.appeal is not None or bool(note and note in text)

    def as_json(self) -> dict[str, Any]:
        app = self.application
        return {
            "task": self.task,
            "case": None if app is None else {
                "number": app.number, "attempt": app.attempt, "applicant": app.applicant,
                "applicant_name": self.applicant, "status": self.status, "status_label": self.status_label,
                "submitted_at": app.submitted_at.isoformat(), "data": app.data},
            "checks": [c.as_json(self.raw_checks.get(c.name)) for c in self.checks],
            "verdict": self.verdict,
            "documents": self.documents,
            "journal": [r.as_json() for r in self.journal],
        }


def application_of(session: Session, task: HumanTask) -> tuple[str | None, Application | None]:
    """The case number (the instance's business key) and its application, if the instance is a case."""
    number = session.scalar(select(ProcessInstance.business_key).where(ProcessInstance.id == task.instance_id))
    app = session.scalar(select(Application).where(Application.number == number)) if number else None
    return number, app


def _label(schema: dict[str, Any], name: str) -> str:
    return field_schema(schema, f"person.{name}").get("title") or name


def _ru_date(value: Any) -> str | None:
    """A registry's ISO date as staff read dates (ДД.ММ.ГГГГ); absent stays absent."""
    return format_ru_date(value) if isinstance(value, str) and value else None


def check_view(name: str, title: str, result: Any, schema: dict[str, Any]) -> CheckView:
    """A registry's answer in the words of the case screen (what matched, what did not, and the status)."""
    if not isinstance(result, dict):
        return CheckView(name, title, done=False)
    view = CheckView(name, title, done=True, found=bool(result.get("found")),
                     match=MATCH_LABELS.get(result.get("holder_match") or "", result.get("holder_match")),
                     mismatches=[_label(schema, m) for m in result.get("mismatches") or []])
    if name == "passport_check":
        view.status = PASSPORT_STATUS.get(result.get("status") or "", result.get("status"))
        if result.get("document_match"):
            view.document_match = ("Дата выдачи и код подразделения совпадают"
                                   if result["document_match"] == "exact" else "Реквизиты паспорта не совпадают")
    elif name == "policy_check":
        view.status = POLICY_STATUS.get(result.get("status") or "", result.get("status"))
        insurer = result.get("insurer") or {}
        for label, value in (("ЕНП", result.get("enp")), ("Страховая организация", insurer.get("name")),
                             ("Регион", result.get("region")),
                             ("Действует с", _ru_date(result.get("valid_from"))),
                             ("Действует по", _ru_date(result.get("valid_to")) or ("бессрочно" if result.get("found")
                                                                                  else None)),
                             # Only a service that asks for a period (the certificate) has one to cover.
                             ("Охватывает период справки", ("да" if result.get("covers_period") else "нет")
                              if "period" in (schema.get("properties") or {}) else None),
                             ("Пояснение ЕРЗЛ", result.get("reason"))):
            if value and result.get("found"):
                view.details.append((label, str(value)))
    return view


def essentials(app: Application | None, sections: list[SummarySection]) -> list[tuple[str, str]]:
    """Birth date, СНИЛС, passport, policy and period: the rows a decision is made on (the ФИО is the heading)."""
    if app is None or app.applicant != "individual":
        return []
    rows = {row.name: row for section in sections for row in section.rows}
    out = []
    passport = [rows[k].value for k in ("person.passport.series", "person.passport.number") if k in rows]
    for name in ESSENTIAL_ROWS:
        if name == "person.passport.issued_on" and passport:
            out.append(("Паспорт", "\u00a0".join(passport)))
        if name in rows:
            out.append((rows[name].label, rows[name].value))
    period = [rows[k].value for k in ("period.from", "period.to") if k in rows]
    if len(period) == 2:
        out.append(("Период справки", f"{period[0]} – {period[1]}"))
    return out


def registry_spelling(person: dict[str, Any], raw_checks: dict[str, Any]) -> list[tuple[str, str]]:
    """The ФИО as each registry spells it where it matched the applicant's only up to ё/е, case or hyphens:
    («Фёдоров Пётр Семёнович», «МВД, СФР»), registries that spell it alike together."""
    spelled: dict[str, list[str]] = {}
    for name, result in raw_checks.items():
        spelling = result.get("holder_spelling") if isinstance(result, dict) else None
        if not spelling:
            continue
        full = " ".join(p for f in NAME_FIELDS if (p := spelling.get(f, person.get(f) or "")))
        spelled.setdefault(full, []).append(REGISTRY_NAMES.get(name, name))
    return [(full, ", ".join(registries)) for full, registries in spelled.items()]


def appeal_facts(data: dict[str, Any]) -> dict[str, Any] | None:
    """The appeal being reviewed, as the process holds it: number, grounds, and the request and answer."""
    appeal = data.get("appeal")
    if not isinstance(appeal, dict) or not appeal.get("number"):
        return None
    answer = data.get("appeal_answer") if isinstance(data.get("appeal_answer"), dict) else {}
    facts = {"number": appeal["number"], "level": appeal.get("level") or 1, "filed_at": appeal.get("filed_at"),
             "grounds": appeal.get("grounds") or ""}
    if answer.get("answer"):
        facts.update(request=data.get("appeal_comment") or None, answer=answer["answer"],
                     answered_at=answer.get("answered_at"))
    return facts


def refusal_facts(data: dict[str, Any]) -> dict[str, Any] | None:
    """The refusal an appeal is against: its reasons in the staff's words and the explanation given."""
    reasons = [r for r in data.get("reasons") or [] if isinstance(r, dict)]
    if not reasons:
        return None
    return {"reasons": [(reason_label(r.get("code") or ""), r.get("note")) for r in reasons],
            "explanation": data.get("explanation") or None}


def case_screen(session: Session, runtime: Runtime, task: HumanTask, now: datetime | None = None) -> CaseScreen:
    """Everything about the task's case, read in `session`."""
    now = now or utcnow()
    number, app = application_of(session, task)
    inst = session.get(ProcessInstance, task.instance_id)
    if inst is None:
        raise NotFound(f"instance {task.instance_id} does not exist")
    try:
        data = runtime.workflow_data(task.instance_id, session)
    except NotFound:
        data = {}
    # The application's own form gives the labels (a person's service; an organisation has its own screen parts).
    schema = load_schema(application_schema(app.process_id, app.applicant) if app is not None and
                         app.applicant == "individual" else application_schema("", "individual"))
    names = staff_names(session, {task.assignee, task.completed_by})
    status = case_status(session, app) if app is not None else inst.status
    sections = summary(schema, app.data) if app is not None and app.applicant == "individual" else []
    raw_checks = {name: data.get(name) for name, _ in CHECKS}
    verdict = data.get("verdict") if isinstance(data.get("verdict"), dict) else None
    appeal = appeal_facts(data)
    if verdict is not None:
        verdict = {**verdict, "outcome_label": OUTCOME_LABELS.get(verdict.get("outcome") or "", verdict.get("outcome"))}
    return CaseScreen(
        task=task_view(task, number, app.data if app else None, now, names), instance_id=task.instance_id,
        version_id=inst.version_id, number=number, application=app, status=status,
        status_label=status_label(status) if status else None,
        applicant=applicant_name(app.data) if app is not None else None, sections=sections,
        checks=[check_view(name, title, raw_checks[name], schema) for name, title in CHECKS],
        raw_checks=raw_checks, verdict=verdict,
        documents=[{**document_view(d), "kind_label": DOCUMENT_KINDS.get(d.kind, d.kind),
                    "preview": "pdf" if d.content_type == "application/pdf" else
                    "image" if d.content_type.startswith("image/") else None}
                   for d in (documents_of(session, app) if app is not None else [])],
        journal=audit_rows(session, app) if app is not None else [],
        essentials=essentials(app, sections),
        registry_spelling=registry_spelling((app.data.get("person") or {}) if app is not None else {}, raw_checks),
        appeal=appeal, refusal=refusal_facts(data) if appeal is not None else None,
        service=wording_of(app.data) if app is not None else None,
    )


def task_form_schema(session: Session, runtime: Runtime, screen: CaseScreen, form_name: str | None) -> dict | None:
    """The task's form as the page shows it: the deployed version's copy the engine validates against, in the
    words of the case's service (a shared chain's form says what approving does for this service)."""
    if not form_name:
        return None
    schema = runtime.specs.forms(session, screen.version_id).get(form_name)
    if schema is None or screen.service is None:
        return schema
    return worded(schema, screen.service.id, screen.service.words())


def record_case_view(session: Session, screen: CaseScreen, actor: str, role: str, via: str) -> None:
    """152-FZ: who opened which case's personal data, when, and through which task."""
    journal.record(session, screen.instance_id, "case_viewed", actor=actor,
                   details={"role": role, "task": screen.task["id"], "view": via})
    session.commit()
