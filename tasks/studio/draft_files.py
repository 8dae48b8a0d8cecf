"""Editing a draft's files one at a time (the studio's modeler): save with a revision, download, start.

A save names the draft revision it was made on; a save made on an older revision is refused with who
saved last and when, never merged or overwritten. What an analyst typed is never lost: a file that is
not well-formed XML is still saved, and the answer carries its problems. Only a draft still in status
``draft`` can be edited; a proposed draft is what its approver reviews, so it stays as proposed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import utcnow
from engine.errors import DeploymentProblem, FieldError, NotFound
from engine.validation import Source, parse_problems
from engine.versions import current_version
from tasks.documents.formatting import format_datetime
from tasks.errors import ApiError
from tasks.studio import drafts
from tasks.studio.catalogue import ordered_files, process_version
from tasks.studio.models import DRAFT, ProcessDraft


class DraftConflict(Exception):
    """The save was made on an older revision than the draft's: nothing was changed."""

    def __init__(self, draft: ProcessDraft) -> None:
        self.revision, self.updated_by, self.updated_at = draft.revision, draft.updated_by, draft.updated_at
        who = self.updated_by or draft.author
        super().__init__(f"Черновик уже изменил {who} ({format_datetime(self.updated_at)}, версия черновика "
                         f"{self.revision}). Ваши изменения не сохранены: загрузите черновик заново.")
        self.message = str(self)


@dataclass(frozen=True)
class Saved:
    revision: int
    updated_at: datetime
    problems: list[DeploymentProblem]  # only whether the saved file parses; the full check is `validate`


def _not_editable(draft: ProcessDraft) -> ApiError:
    return ApiError(409, "conflict", f"Черновик {draft.status_label}: изменять можно только черновик "
                                     "в статусе «черновик».")


def _check_name(draft: ProcessDraft, name: str) -> None:
    """An existing file of the draft, or a new .bpmn/.dmn name within the draft's size limit."""
    if name in draft.files:
        return
    if not drafts.FILE_NAME.match(name):
        message = (f"Файл «{name}»: нужен файл .bpmn или .dmn с именем из латинских букв, цифр, точек, "
                   "дефисов и подчёркиваний.")
        raise ApiError(422, "invalid_files", message, [FieldError("name", "invalid", message)])
    if len(draft.files) >= drafts.MAX_FILES:
        message = f"В черновике может быть не больше {drafts.MAX_FILES} файлов."
        raise ApiError(422, "invalid_files", message, [FieldError("name", "too_many", message)])


def save_file(session: Session, draft_id: int, name: str, xml: str, revision: int, actor: str) -> Saved:
    """Store ``xml`` as the draft's file ``name`` if the draft is still at ``revision`` (DraftConflict if not).

    The write is conditional on the revision (and status), so of two saves made on one revision exactly
    one wins, whichever database runs underneath. An unchanged file keeps the revision as it is.
    """
    draft = drafts.get_draft(session, draft_id)
    _check_name(draft, name)
    text = drafts.read_files({name: xml})[name]
    if draft.status != DRAFT:
        raise _not_editable(draft)
    if draft.revision != revision:
        raise DraftConflict(draft)
    problems = parse_problems(Source(name, text.encode("utf-8")))
    if draft.files.get(name) == text:
        return Saved(draft.revision, draft.updated_at, problems)
    now = utcnow()
    changed = session.execute(
        update(ProcessDraft).where(ProcessDraft.id == draft_id, ProcessDraft.revision == revision,
                                   ProcessDraft.status == DRAFT)
        .values(files={**draft.files, name: text}, revision=revision + 1, updated_by=actor, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if not changed:  # another save (or a proposal) got in between the read and this write
        session.rollback()
        draft = drafts.get_draft(session, draft_id, lock=True)
        raise _not_editable(draft) if draft.status != DRAFT else DraftConflict(draft)
    journal.record(session, None, "draft_file_saved", actor=actor, message=f"draft {draft_id}: {name}",
                   details={"draft_id": draft_id, "file": name, "revision": revision + 1})
    return Saved(revision + 1, now, problems)


def file_text(session: Session, draft_id: int, name: str) -> str:
    """One file of the draft as saved (404 when the draft has no such file)."""
    draft = drafts.get_draft(session, draft_id)
    if name not in draft.files:
        raise ApiError(404, "not_found", f"В черновике №\u00a0{draft_id} нет файла «{name}».")
    return draft.files[name]


def draft_from_current(session: Session, process_id: str, actor: str) -> ProcessDraft:
    """A new draft holding the files of the process's current version, to edit in the browser."""
    try:
        number = current_version(session, process_id).version
    except NotFound:
        raise ApiError(404, "not_found", f"Процесс «{process_id}» не развёрнут.") from None
    row = process_version(session, process_id, number)
    return drafts.create_draft(session, {name: row.sources[name] for name in ordered_files(row)}, actor,
                               origin={"process_id": process_id, "version": number})


def main_file(draft: ProcessDraft) -> str | None:
    """The first BPMN file of the draft (the one the editor opens when none is named)."""
    return next((name for name in draft.files if name.endswith(".bpmn")), None)
