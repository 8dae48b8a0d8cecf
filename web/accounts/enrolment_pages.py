"""/staff/enrolment-links: an administrator issues a staff member's one-time authenticator enrolment link.

The link is shown once (only its hash is stored) for the administrator to hand over through a channel
they trust; `backoffice users enrol-link` does the same from a shell.
"""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import FieldError
from tasks.accounts.errors import AccountError
from tasks.accounts.roles import ADMIN
from tasks.accounts.service import ENROL_LINK_TTL
from tasks.inbox.queries import actor_id

from ..security import account_service, current_actor, roles_required
from ..services import app_config
from .page_forms import enrolment_link_form

bp = Blueprint("enrolment_links", __name__)


def enrolment_url(base_url: str, token: str) -> str:
    """The link a staff member opens: the login page remembers the token, then asks for the password."""
    return f"{base_url.rstrip('/')}/login/enrol/{token}"


@bp.route("/staff/enrolment-links", methods=["GET", "POST"])
@roles_required(ADMIN)
def issue() -> Response:
    values = request.form if request.method == "POST" else {}
    errors: list[FieldError] = []
    link, status = None, 200
    if request.method == "POST":
        try:
            token = account_service().issue_enrolment_link(values.get("email", ""), actor_id(current_actor().id))
        except AccountError as exc:  # unknown address, a citizen, or already enrolled: next to the field
            errors, status = [FieldError("email", exc.code, exc.message)], 422
        else:
            link = enrolment_url(app_config().public_base_url, token)
    html = render_template("accounts/enrolment_links.html", view=enrolment_link_form(values, errors), link=link,
                           email=values.get("email", ""), days=ENROL_LINK_TTL.days,
                           action=url_for(".issue"))
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"  # the page shows a one-time secret
    return response
