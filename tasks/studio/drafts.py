"""Drafts and the four-eyes deploy: upload, check, propose, approve (which deploys), and rollback.

One module for the studio's pages and its JSON API, so both behave the same. A draft is checked by
exactly the deploy validation (engine.deployment.build_deployer, as the CLI): what passes here passes
`backoffice workflows deploy`. Every step is journaled with the person who took it; a draft that
does not pass the check changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import utcnow
from engine.context import Services
from engine.deploy import Deployed, Deployer, Source
from engine.deployment import build_deployer, read_lanes
from engine.errors import DeploymentError, DeploymentProblem, FieldError, NotFound
from engine.models import ProcessVersion
from engine.scripting import ScriptEnvironment
from engine.validation import Validation
from engine.versions import current_versions, make_current
from tasks.errors import ApiError
from tasks.studio.models import APPROVED, DRAFT, PROPOSED, REJECTED, ProcessDraft

MAX_FILES = 20
MAX_FILE_BYTES = 2 * 1024 * 1024  # the largest product diagram is about a tenth of this
MAX_COMMENT = 2000
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.(bpmn|dmn)$")


class DraftRefused(Exception):
    """The draft does not pass the deploy validation: nothing was changed."""

    def __init__(self, problems: list[DeploymentProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Approval:
    draft: ProcessDraft
    deployed: list[Deployed]


def _invalid_files(message: str) -> ApiError:
    return ApiError(422, "invalid_files", message, [FieldError("files", "invalid_files", message)])


def read_files(files: Mapping[str, bytes | str]) -> dict[str, str]:
    """The uploaded files as text, or a specific Russian error (nothing is stored then)."""
    if not files:
        raise _invalid_files("Выберите хотя бы один файл BPMN или DMN.")
    if len(files) > MAX_FILES:
        raise _invalid_files(f"В черновике может быть не больше {MAX_FILES} файлов.")
    texts: dict[str, str] = {}
    for name, content in files.items():
        if not FILE_NAME.match(name):
            raise _invalid_files(f"Файл «{name}»: нужен файл .bpmn или .dmn с именем из латинских букв, "
                                 "цифр, точек, дефисов и подчёркиваний.")
        raw = content.encode("utf-8") if isinstance(content, str) else content
        if not raw.strip():
            raise _invalid_files(f"Файл «{name}» пуст.")
        if len(raw) > MAX_FILE_BYTES:
            raise _invalid_files(f"Файл «{name}» больше {MAX_FILE_BYTES // (1024 * 1024)} МБ.")
        try:
            texts[name] = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid_files(f"Файл «{name}» не в кодировке UTF-8.") from None
    return texts


def create_draft(session: Session, files: Mapping[str, bytes | str], author: str,
                 origin: dict | None = None) -> ProcessDraft:
    """A new draft of the files (``origin``: the deployed version it was started from, for the journal)."""
    texts = read_files(files)
    now = utcnow()
    draft = ProcessDraft(files=texts, author=author, created_at=now, updated_at=now, status=DRAFT, revision=1,
                         updated_by=author)
    session.add(draft)
    session.flush()
    journal.record(session, None, "draft_uploaded", actor=author, message=f"draft {draft.id}",
                   details={"draft_id": draft.id, "files": sorted(texts), **({"origin": origin} if origin else {})})
    return draft


def get_draft(session: Session, draft_id: int, lock: bool = False) -> ProcessDraft:
    draft = session.get(ProcessDraft, draft_id, with_for_update=lock, populate_existing=lock)
    if draft is None:
        raise ApiError(404, "not_found", f"Черновика №\u00a0{draft_id} нет.")
    return draft


def open_drafts(session: Session) -> list[ProcessDraft]:
    """Drafts not yet deployed or rejected, newest first (the catalogue lists them for review)."""
    return list(session.scalars(select(ProcessDraft).where(ProcessDraft.status.in_((DRAFT, PROPOSED)))
                                .order_by(ProcessDraft.id.desc())))


def _sources(files: Mapping[str, str]) -> list[Source]:
    return [Source(name, text.encode("utf-8")) for name, text in sorted(files.items())]


def _lanes(services: Services) -> dict[str, str]:
    return read_lanes([services.settings.workflows_dir])


def _deployer(services: Services) -> Deployer:
    return build_deployer(services.settings, services.database)


def bundle_files(session: Session, files: Mapping[str, str]) -> dict[str, str]:
    """The draft's files completed with the other files of the current versions they belong to.

    An analyst uploads only what they changed (a caller without the process it calls, a diagram without
    its decision table); the rest is what runs now. Read at each use rather than copied into the draft,
    so approving a draft cannot quietly undo a change to the shared files approved in the meantime.
    """
    bundle = dict(files)
    for process_id, number in current_versions(session).items():
        sources = session.scalar(select(ProcessVersion.sources).where(ProcessVersion.process_id == process_id,
                                                                      ProcessVersion.version == number)) or {}
        if files.keys() & sources.keys():
            bundle.update({name: text for name, text in sources.items() if name not in bundle})
    return bundle


def check_draft(session: Session, services: Services, draft: ProcessDraft) -> list[DeploymentProblem]:
    """The deploy validation's problems of the draft's files (lanes from the workflows' lanes.toml)."""
    return validate_draft(session, services, draft).problems


def validate_draft(session: Session, services: Services, draft: ProcessDraft) -> Validation:
    """The deploy validation of the draft's files, with the parser holding its specs as they would run.

    Ends the caller's transaction first: the Deployer reads in its own session, and on SQLite every
    transaction holds the write lock from its start, so an open one here would block it.
    """
    files = bundle_files(session, draft.files)
    session.commit()
    return _deployer(services).validate(_sources(files), _lanes(services))


def script_environment(services: Services) -> ScriptEnvironment:
    """The names diagrams run with, as the deploy validation and the runtime give them."""
    return _deployer(services).script_env


def propose(session: Session, services: Services, draft_id: int, actor: str, comment: str) -> ProcessDraft:
    """Ask another analyst to approve: only a valid draft (DraftRefused otherwise), with the why."""
    comment = (comment or "").strip()
    draft = get_draft(session, draft_id)
    _check_proposable(draft, comment)
    problems = check_draft(session, services, draft)
    if problems:
        raise DraftRefused(problems)
    draft = get_draft(session, draft_id, lock=True)
    _check_proposable(draft, comment)  # again: someone may have proposed or rejected it meanwhile
    draft.status, draft.comment, draft.proposer, draft.updated_at = PROPOSED, comment, actor, utcnow()
    journal.record(session, None, "draft_proposed", actor=actor, message=f"draft {draft.id}",
                   details={"draft_id": draft.id, "comment": comment, "files": sorted(draft.files)})
    return draft


def _check_proposable(draft: ProcessDraft, comment: str) -> None:
    if draft.status != DRAFT:
        raise ApiError(409, "conflict", f"Черновик уже {draft.status_label}: предложить его ещё раз нельзя.")
    if not comment:
        raise ApiError(422, "validation_failed", "Напишите, что изменено и зачем.",
                       [FieldError("comment", "required", "Напишите, что изменено и зачем.")])
    if len(comment) > MAX_COMMENT:
        message = f"Комментарий длиннее {MAX_COMMENT} символов."
        raise ApiError(422, "validation_failed", message, [FieldError("comment", "too_long", message)])


def approval_refusal(draft: ProcessDraft, actor: str) -> str | None:
    """Why ``actor`` may not approve the draft now (None: they may)."""
    if draft.status != PROPOSED:
        return f"Черновик {draft.status_label}: одобрить можно только предложенный к развёртыванию."
    if draft.proposer == actor:
        return "Вы предложили этот черновик: одобрить его должен другой аналитик или администратор."
    return None


def approve(session: Session, services: Services, draft_id: int, actor: str) -> Approval:
    """The second pair of eyes: deploy the proposed draft, its new versions become current.

    The draft is claimed first (a conditional update, committed), so two approvers cannot both
    deploy it; if the deploy is refused after all (the SLA catalogue changed since), the claim is
    undone and nothing is deployed.
    """
    draft = get_draft(session, draft_id, lock=True)
    refusal = approval_refusal(draft, actor)
    if refusal:
        raise ApiError(409, "conflict", refusal)
    files, comment = bundle_files(session, draft.files), draft.comment
    claimed = session.execute(update(ProcessDraft).where(ProcessDraft.id == draft_id, ProcessDraft.status == PROPOSED)
                              .values(status=APPROVED, approver=actor, updated_at=utcnow())).rowcount
    session.commit()
    if not claimed:
        raise ApiError(409, "conflict", "Черновик уже одобрен или отклонён другим сотрудником.")
    try:
        deployed = _deployer(services).deploy(_sources(files), _lanes(services), actor=actor, comment=comment)
    except DeploymentError as exc:
        session.execute(update(ProcessDraft).where(ProcessDraft.id == draft_id)
                        .values(status=PROPOSED, approver=None, updated_at=utcnow()))
        session.commit()
        raise DraftRefused(exc.problems) from None
    draft = get_draft(session, draft_id)
    for result in deployed:  # files identical to an existing version: approving still makes it current
        if not result.created:
            make_current(session, result.process_id, result.version, actor, reason="approved")
    draft.deployed = [{"process_id": r.process_id, "version": r.version, "created": r.created} for r in deployed]
    journal.record(session, None, "draft_approved", actor=actor, message=f"draft {draft.id}",
                   details={"draft_id": draft.id, "proposer": draft.proposer, "deployed": draft.deployed})
    session.commit()
    return Approval(draft, deployed)


def reject(session: Session, draft: ProcessDraft, actor: str) -> ProcessDraft:
    """Turn a draft down (or withdraw one's own): it can no longer be approved."""
    if draft.status not in (DRAFT, PROPOSED):
        raise ApiError(409, "conflict", f"Черновик уже {draft.status_label}.")
    draft.status, draft.updated_at = REJECTED, utcnow()
    journal.record(session, None, "draft_rejected", actor=actor, message=f"draft {draft.id}",
                   details={"draft_id": draft.id})
    return draft


def rollback(session: Session, process_id: str, version: int, actor: str) -> bool:
    """Make an earlier (or any existing) version current again; running cases keep theirs."""
    try:
        return make_current(session, process_id, version, actor, reason="rollback")
    except NotFound:
        raise ApiError(404, "not_found", f"У процесса «{process_id}» нет версии {version}.") from None
