"""Pages anyone may open: the home page, certificate verification (the QR code) and the policy check.

Both checks answer strangers, so they reveal as little as they can: verification shows the number,
the masked holder, the period and the issue date, and only with the code from the certificate (for an
organisation's register: the organisation and the employee counts, never an employee);
the policy check says nothing unless the ЕНП and the birth date belong together.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from forms.dates import today_moscow
from forms.rendering import build_form, form_data_from_flat
from forms.validation import clean, load_schema
from tasks.cases import catalogue, wizard
from tasks.cases.certificates import verify_certificate
from tasks.cases.policy_check import check_policy
from tasks.cases.register_verification import is_register, register_summary
from tasks.registries.client import RegistryUnavailable

from ..extensions import db
from ..navigation import home_endpoint
from ..rate_limits import rate_limited
from ..security import current_actor, public
from ..services import app_config
from . import access, page_format
from .service_links import apply_url
from .verify_form import read_verification, verification_form, verification_problems

bp = Blueprint("public", __name__)
page_format.register(bp)

POLICY_SCHEMA = "policy_check"
POLICY_STATUS_LABELS = {"active": "Полис действует", "expired": "Срок действия полиса истёк",
                        "annulled": "Полис аннулирован"}
VERIFY_STATUS_TITLES = {
    "valid": "Справка действительна",
    "expired": "Срок действия справки истёк",
    "revoked": "Справка отозвана",
    "not_found": "Справка не найдена",
}
# An organisation's register is verified by the same number-and-code check (it is a certificate row of
# kind "register"); the page names the organisation and the counts, never an employee.
REGISTER_STATUS_TITLES = {
    "valid": "Реестр действителен",
    "expired": "Срок действия реестра истёк",
    "revoked": "Реестр отозван",
}
REGISTRY_DOWN = "Реестр застрахованных лиц временно недоступен. Попробуйте позже."


@bp.get("/")
@public
def home() -> str | Response:
    """The portal's home for visitors and citizens; staff are sent to their own work."""
    actor = current_actor()
    if actor is not None and home_endpoint(actor.role) != request.endpoint:
        return redirect(url_for(home_endpoint(actor.role)))
    draft = wizard.find_draft(db.session, actor.id) if actor is not None and actor.role == "citizen" else None
    return render_template("public/home.html", actor=actor, has_draft=draft is not None,
                           services=[(svc, apply_url(svc)) for svc in catalogue.services()])


@bp.get("/verify/<number>")
@public
@rate_limited("lookup")
def verify(number: str) -> tuple[str, int]:
    """Where the certificate's QR code leads; an unknown number and a wrong code read the same.

    Without a code (someone typed the address by hand) it is the form with the number filled in.
    """
    code = request.args.get("code")
    if not code:
        return _verify_page(verification_form({"number": number}))
    return _verify_result(number, code)


@bp.route("/verify", methods=["GET", "POST"])
@public
@rate_limited("lookup")
def verify_form() -> tuple[str, int]:
    """The same check for a paper in hand: the number as printed and the code from the address under the QR.

    POST keeps the code out of URLs and logs, like the policy check.
    """
    if request.method == "GET":
        return _verify_page(verification_form({}))
    number, code = read_verification(request.form.get("number", ""), request.form.get("code", ""))
    errors = verification_problems(number, code)
    if errors:
        return _verify_page(verification_form(request.form, errors), status=422)
    return _verify_result(number, code)


def _verify_result(number: str, code: str) -> tuple[str, int]:
    config = app_config()
    result = verify_certificate(db.session, config, number, code, today_moscow())
    status = result.status
    register = register_summary(result.certificate) if is_register(result.certificate) else None
    title = REGISTER_STATUS_TITLES[status] if register else VERIFY_STATUS_TITLES[status]
    form = verification_form({"number": number, "code": code}) if status == "not_found" else None
    return _verify_page(form, status=404 if status == "not_found" else 200, result_status=status, title=title,
                        certificate=result.certificate, register=register)


def _verify_page(form: Any, status: int = 200, **result: Any) -> tuple[str, int]:
    return render_template("public/verify.html", form=form, **result), status


@bp.route("/policy-check", methods=["GET", "POST"])
@public
@rate_limited("lookup")
def policy_check() -> str | tuple[str, int] | Response:
    """ЕНП + birth date -> insurer and validity. POST keeps the ЕНП and birth date out of URLs and logs."""
    schema = load_schema(POLICY_SCHEMA)
    if request.method == "GET":
        return _policy_page(build_form(schema))
    data, errors = clean(schema, form_data_from_flat(schema, request.form), surface="page")
    if errors:
        return _policy_page(build_form(schema, request.form, errors), status=422)
    try:
        found = check_policy(access.registry_client(), data["enp"], data["birth_date"])
    except RegistryUnavailable:
        return _policy_page(build_form(schema, request.form), unavailable=True, status=503)
    return _policy_page(build_form(schema, request.form), result=found, checked=True)


def _policy_page(view: Any, *, result: Any = None, checked: bool = False, unavailable: bool = False,
                 status: int = 200) -> tuple[str, int]:
    html = render_template("public/policy_check.html", view=view, result=result, checked=checked,
                           unavailable=unavailable, unavailable_message=REGISTRY_DOWN,
                           status_labels=POLICY_STATUS_LABELS)
    return html, status
