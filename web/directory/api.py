"""JSON API of the directory (public): GET /api/v1/medical-organizations[?q=&region=&program=&specialty=&page=]
and GET /api/v1/medical-organizations/{ogrn}."""

from __future__ import annotations

import re

from flask import Blueprint, Response, jsonify, request

from engine.errors import FieldError
from tasks.directory.search import PAGE_SIZE, search
from tasks.directory.service import find_by_ogrn, last_refreshed
from tasks.errors import ApiError

from ..extensions import db
from ..security import public
from .query import organization_json, read_filters

bp = Blueprint("directory_api", __name__, url_prefix="/api/v1/medical-organizations")


@bp.get("")
@public
def index() -> Response:
    filters, page, errors = read_filters(request.args)
    if errors:
        raise ApiError(422, "validation_failed", "Проверьте параметры поиска.", errors)
    found = search(db.session, filters, page)
    refreshed = last_refreshed(db.session)
    return jsonify({"items": [organization_json(o) for o in found.items], "total": found.total,
                    "total_exact": found.total_exact, "page": found.page,
                    "pages": found.pages, "per_page": PAGE_SIZE,
                    "refreshed_at": refreshed.isoformat() if refreshed else None})


@bp.get("/<ogrn>")
@public
def show(ogrn: str) -> Response:
    if not re.fullmatch(r"[0-9]{13}", ogrn):
        raise ApiError(422, "validation_failed", "ОГРН медицинской организации состоит из 13 цифр.",
                       [FieldError("ogrn", "format", "ОГРН медицинской организации состоит из 13 цифр.")])
    org = find_by_ogrn(db.session, ogrn)
    if org is None:
        raise ApiError(404, "not_found", f"Медицинская организация с ОГРН {ogrn} не найдена в справочнике.")
    refreshed = last_refreshed(db.session)
    return jsonify({**organization_json(org), "refreshed_at": refreshed.isoformat() if refreshed else None})
