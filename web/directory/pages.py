"""Public pages of the directory: the search with its filters (/medical-organizations) and a page per
organisation (/medical-organizations/<ОГРН>). Plain GET forms: they work without JavaScript and a search
can be bookmarked or shared."""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template, request

from forms.dates import today_moscow
from tasks.directory.search import search
from tasks.directory.service import choices, find_by_ogrn, last_refreshed

from ..extensions import db
from ..security import public
from .query import read_filters

bp = Blueprint("directory", __name__, url_prefix="/medical-organizations")


@bp.get("")
@public
def index() -> tuple[str, int]:
    filters, page, errors = read_filters(request.args)
    found = None if errors else search(db.session, filters, page)
    searched = any((filters.q, filters.region, filters.program, filters.specialty))
    return render_template("directory/index.html", filters=filters, found=found, errors=errors,
                           errors_by_field={e.field: e.message for e in errors}, searched=searched,
                           choices=choices(db.session), refreshed=last_refreshed(db.session),
                           today=today_moscow()), 422 if errors else 200


@bp.get("/<ogrn>")
@public
def show(ogrn: str) -> str:
    org = find_by_ogrn(db.session, ogrn) if re.fullmatch(r"[0-9]{13}", ogrn) else None
    if org is None:
        abort(404)
    return render_template("directory/organization.html", org=org, expired=org.license_expired(today_moscow()),
                           refreshed=last_refreshed(db.session))
