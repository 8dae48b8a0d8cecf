"""The studio's pages: the catalogue of deployed processes, one version, drafts and rollback.

The catalogue is the analyst's landing page; administrators see it too. A version page draws each
BPMN file with bpmn-js and each DMN file with dmn-js (the bundle from web/static/studio); without
JavaScript it still lists the diagram's elements by lane and offers every source file for download.
Changes go through drafts (tasks.studio.drafts): upload, check, propose, approval by another person. A
draft's BPMN file can also be edited in the browser (the modeler page; saves go through the drafts API).
"""

from __future__ import annotations

import secrets
from collections import defaultdict

from flask import Blueprint, Response, abort, flash, make_response, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn_outline import bpmn_outline, dmn_decisions, has_bpmn_di
from engine.models import LaneRole
from tasks.accounts.roles import ADMIN, ANALYST, ROLE_LABELS
from tasks.errors import ApiError
from tasks.studio import diffs, draft_files, drafts, impact
from tasks.studio.catalogue import deployed_processes, is_current, ordered_files, process_version

from ..extensions import db
from ..security import current_actor, roles_required
from ..services import services
from ..studio_assets import modeler_csp, viewer_csp
from . import diff_text, downloads

bp = Blueprint("processes", __name__)
SYSTEM_LANE_ROLE = "system"  # lanes run by the engine itself (service tasks), not by people


def lane_roles(session: Session) -> list[tuple[str, str]]:
    """(lane, the Russian name of its role) for the lanes people work in."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for lane, role in session.execute(select(LaneRole.lane, LaneRole.role).order_by(LaneRole.lane)):
        if role != SYSTEM_LANE_ROLE:
            grouped[lane].append(ROLE_LABELS.get(role, role))
    return [(lane, ", ".join(roles)) for lane, roles in grouped.items()]


@bp.get("/processes")
@roles_required(ANALYST, ADMIN)
def index() -> str:
    return _index()


def _index(errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    processes, lanes = deployed_processes(db.session), lane_roles(db.session)
    open_drafts = drafts.open_drafts(db.session)
    db.session.commit()  # end the read transaction before rendering
    return render_template("processes/index.html", processes=processes, lanes=lanes, drafts=open_drafts,
                           errors=errors or {}, max_files=drafts.MAX_FILES,
                           max_mb=drafts.MAX_FILE_BYTES // (1024 * 1024)), status


@bp.get("/processes/<process_id>/versions/<int:version>")
@roles_required(ANALYST, ADMIN)
def version_view(process_id: str, version: int) -> Response:
    """One version: a tab per source file (`?file=`), the selected one drawn, its elements listed."""
    return _version_view(process_id, version)


def _version_view(process_id: str, version: int, errors: dict[str, str] | None = None,
                  status: int = 200) -> Response:
    row = process_version(db.session, process_id, version)
    files = ordered_files(row)
    selected = request.args.get("file") or files[0]
    if selected not in row.sources:
        abort(404)
    xml = row.sources[selected]
    current = is_current(db.session, row)
    db.session.commit()
    kind = "bpmn" if selected.endswith(".bpmn") else "dmn"
    response = make_response(render_template(
        "processes/version.html", row=row, files=files, selected=selected, kind=kind, xml=xml, current=current,
        errors=errors or {},
        has_di=has_bpmn_di(xml) if kind == "bpmn" else True,
        outline=bpmn_outline(xml) if kind == "bpmn" else [], decisions=dmn_decisions(xml) if kind == "dmn" else []))
    response.status_code = status
    if kind == "dmn":
        response.headers["Content-Security-Policy"] = viewer_csp()
    return response


@bp.get("/processes/<process_id>/versions/<int:version>/files/<name>")
@roles_required(ANALYST, ADMIN)
def download(process_id: str, version: int, name: str) -> Response:
    """A source file exactly as deployed, to open in a desktop modeler."""
    row = process_version(db.session, process_id, version)
    if name not in row.sources:
        abort(404)
    content = row.sources[name]
    db.session.commit()
    return downloads.attachment(content, name)


@bp.post("/processes/<process_id>/edit")
@roles_required(ANALYST, ADMIN)
def edit_current(process_id: str) -> Response:
    """«Редактировать»: a new draft holding the current version's files, opened in the modeler."""
    draft = draft_files.draft_from_current(db.session, process_id, _me())
    db.session.commit()
    name = draft_files.main_file(draft)
    if name is None:
        return redirect(url_for("processes.draft_view", draft_id=draft.id))
    return redirect(url_for("processes.editor", draft_id=draft.id, name=name))


@bp.get("/processes/drafts/<int:draft_id>/edit/<name>")
@roles_required(ANALYST, ADMIN)
def editor(draft_id: int, name: str) -> Response:
    """The BPMN modeler on one file of a draft: autosaved through the drafts API, checked after each save."""
    draft = drafts.get_draft(db.session, draft_id)
    if not name.endswith(".bpmn") or name not in draft.files:
        abort(404)
    if draft.status != drafts.DRAFT:
        db.session.commit()
        flash(f"Черновик {draft.status_label}: изменять его нельзя.", "warning")
        return redirect(url_for("processes.draft_view", draft_id=draft_id))
    config = {"draft_id": draft.id, "file": name, "revision": draft.revision, "xml": draft.files[name],
              "save_url": url_for("processes_api.save_draft_file", draft_id=draft.id, name=name),
              "validate_url": url_for("processes_api.validate_draft", draft_id=draft.id),
              "catalogue_url": url_for("processes_api.catalogue", draft=draft.id)}
    db.session.commit()
    response = make_response(render_template("processes/editor.html", draft=draft, name=name, config=config))
    response.headers["Content-Security-Policy"] = modeler_csp()
    return response


@bp.get("/processes/<process_id>/diff")
@roles_required(ANALYST, ADMIN)
def diff_view(process_id: str) -> str:
    """Two versions, or a draft against the current one: coloured diagrams, changed elements, DMN rules."""
    result = diffs.process_diff(db.session, process_id, request.args.get("from"), request.args.get("to"))
    return render_template("processes/diff.html", diff=result, text=diff_text,
                           drawn=any(f.drawable for f in result.files))


def _me() -> str:
    return current_actor().email


@bp.post("/processes/<process_id>/current")
@roles_required(ANALYST, ADMIN)
def make_current(process_id: str) -> Response:
    """Rollback (or forward again): new cases get the chosen version; asks for an explicit confirmation."""
    version = request.form.get("version", type=int)
    if version is None:
        abort(400)
    if request.form.get("confirm") != "yes":
        return _version_view(process_id, version, {"confirm": "Подтвердите, что новые заявления должны получать "
                                                              f"версию {version}."}, 422)
    drafts.rollback(db.session, process_id, version, _me())
    db.session.commit()
    flash(f"Версия {version} стала текущей: её получают новые заявления. Начатые заявления доходят до конца "
          "по своим версиям.", "success")
    return redirect(url_for("processes.version_view", process_id=process_id, version=version))


@bp.post("/processes/drafts")
@roles_required(ANALYST, ADMIN)
def upload_draft() -> Response | tuple[str, int]:
    uploads = [f for f in request.files.getlist("files") if f.filename]
    try:
        draft = drafts.create_draft(db.session, {f.filename: f.stream.read(drafts.MAX_FILE_BYTES + 1)
                                                 for f in uploads}, _me())
    except ApiError as exc:
        db.session.rollback()
        return _index({"files": exc.message}, 422)
    db.session.commit()
    return redirect(url_for("processes.draft_view", draft_id=draft.id))


@bp.get("/processes/drafts/<int:draft_id>")
@roles_required(ANALYST, ADMIN)
def draft_view(draft_id: int) -> tuple[str, int]:
    return _draft_view(draft_id)


def _draft_view(draft_id: int, errors: dict[str, str] | None = None, status: int = 200,
                comment: str | None = None) -> tuple[str, int]:
    draft = drafts.get_draft(db.session, draft_id)
    editable = draft.status in (drafts.DRAFT, drafts.PROPOSED)
    checked = drafts.validate_draft(db.session, services(), draft) if editable else None
    problems = checked.problems if checked else []
    preview = impact.draft_impact(db.session, services(), draft, _me(), checked=checked) if checked and not problems \
        else None
    bundle = drafts.bundle_files(db.session, draft.files)
    comparable = diffs.comparable_processes(db.session, bundle)
    db.session.commit()
    return render_template("processes/draft.html", draft=draft, problems=problems, errors=errors or {},
                           impact=preview, change_lines=impact.change_lines,
                           drawings=_drawable(draft.files), comparable=comparable,
                           completed=sorted(bundle.keys() - draft.files.keys()),
                           comment=draft.comment if comment is None else comment,
                           approval_refusal=drafts.approval_refusal(draft, _me()), me=_me(),
                           max_comment=drafts.MAX_COMMENT), status


@bp.get("/processes/drafts/<int:draft_id>/edit/<name>.dmn")
@roles_required(ANALYST, ADMIN)
def dmn_editor(draft_id: int, name: str) -> Response:
    """The DMN modeler on one decision file of a draft: autosaved through the drafts API, checked after each save."""
    file = f"{name}.dmn"
    draft = drafts.get_draft(db.session, draft_id)
    if file not in draft.files:
        abort(404)
    if draft.status != drafts.DRAFT:
        db.session.commit()
        flash(f"Черновик {draft.status_label}: изменять его нельзя.", "warning")
        return redirect(url_for("processes.draft_view", draft_id=draft_id))
    config = {"draft_id": draft.id, "file": file, "revision": draft.revision, "xml": draft.files[file],
              "save_url": url_for("processes_api.save_draft_file", draft_id=draft.id, name=file),
              "validate_url": url_for("processes_api.validate_draft", draft_id=draft.id),
              "style_nonce": secrets.token_urlsafe(16)}
    db.session.commit()
    response = make_response(render_template("processes/dmn_editor.html", draft=draft, name=file, config=config))
    response.headers["Content-Security-Policy"] = viewer_csp(config["style_nonce"])
    return response


@bp.get("/processes/drafts/<int:draft_id>/files/<name>")
@roles_required(ANALYST, ADMIN)
def draft_download(draft_id: int, name: str) -> Response:
    """A draft's file as saved, to open in a desktop modeler."""
    text = draft_files.file_text(db.session, draft_id, name)
    db.session.commit()
    return downloads.attachment(text, name)


def _drawable(files: dict[str, str]) -> list[tuple[str, str]]:
    """(name, XML) of the draft's BPMN files bpmn-js can draw: well-formed, safe and with DI."""
    drawable = []
    for name, xml in sorted(files.items()):
        try:
            if name.endswith(".bpmn") and has_bpmn_di(xml):
                drawable.append((name, xml))
        except ValueError:  # broken or unsafe XML: the problems list says why, nothing is drawn
            continue
    return drawable


@bp.post("/processes/drafts/<int:draft_id>/propose")
@roles_required(ANALYST, ADMIN)
def propose_draft(draft_id: int) -> Response | tuple[str, int]:
    comment = request.form.get("comment", "")
    try:
        drafts.propose(db.session, services(), draft_id, _me(), comment)
    except drafts.DraftRefused:
        db.session.rollback()
        return _draft_view(draft_id, {"propose": "Исправьте проблемы из списка выше: с ними черновик "
                                                 "предложить нельзя."}, 422, comment)
    except ApiError as exc:
        db.session.rollback()
        field = exc.fields[0].field if exc.fields else "propose"
        return _draft_view(draft_id, {field: exc.message}, exc.status, comment)
    db.session.commit()
    flash("Черновик предложен к развёртыванию. Его должен одобрить другой аналитик или администратор.", "success")
    return redirect(url_for("processes.draft_view", draft_id=draft_id))


@bp.post("/processes/drafts/<int:draft_id>/approve")
@roles_required(ANALYST, ADMIN)
def approve_draft(draft_id: int) -> Response | tuple[str, int]:
    try:
        approval = drafts.approve(db.session, services(), draft_id, _me())
    except drafts.DraftRefused:
        return _draft_view(draft_id, {"approve": "Развёртывание отклонено проверкой: проблемы перечислены выше. "
                                                 "Ничего не изменено."}, 422)
    except ApiError as exc:
        db.session.rollback()
        return _draft_view(draft_id, {"approve": exc.message}, exc.status)
    versions = ", ".join(f"«{d.process_id}» — версия {d.version}" for d in approval.deployed)
    flash(f"Черновик развёрнут: {versions}. Новые заявления получают эту версию.", "success")
    return redirect(url_for("processes.draft_view", draft_id=draft_id))


@bp.post("/processes/drafts/<int:draft_id>/reject")
@roles_required(ANALYST, ADMIN)
def reject_draft(draft_id: int) -> Response | tuple[str, int]:
    try:
        drafts.reject(db.session, drafts.get_draft(db.session, draft_id, lock=True), _me())
    except ApiError as exc:
        db.session.rollback()
        return _draft_view(draft_id, {"reject": exc.message}, exc.status)
    db.session.commit()
    flash("Черновик отклонён.", "success")
    return redirect(url_for("processes.draft_view", draft_id=draft_id))
