"""«Мой полис»: the signed-in citizen's own current policy from ЕРЗЛ, as a page (/me/policy) and over the API
(GET /api/v1/me/policy).

The policy is looked up by the profile's ЕНП, or without one by its СНИЛС and birth date
(tasks.cases.policy_check.own_policy), and shown only when ЕРЗЛ's record belongs to the person the profile
describes. A policy that has expired or was annulled
comes with what to do next: ask for the certificate of coverage (the application checks every register
and explains a refusal) or write to support. Every look-up is journaled: a policy is personal data.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, url_for

from engine import journal
from tasks.accounts.models import User
from tasks.accounts.roles import CITIZEN
from tasks.cases.policy_check import OwnPolicy, own_policy
from tasks.errors import ApiError
from tasks.registries.client import RegistryUnavailable

from ..cases.access import registry_client
from ..extensions import db
from ..security import current_actor, roles_required

pages = Blueprint("my_policy", __name__, url_prefix="/me/policy")
api = Blueprint("my_policy_api", __name__, url_prefix="/api/v1/me/policy")

STATUS_LABELS = {"active": "Полис действует", "expired": "Срок действия полиса истёк",
                 "annulled": "Полис аннулирован"}
REGISTRY_DOWN = "Реестр застрахованных лиц временно недоступен. Попробуйте позже."
NEXT_STEPS = ("Чтобы получать медицинскую помощь по ОМС, обратитесь в страховую медицинскую организацию "
              "или в территориальный фонд ОМС своего региона. Если вы считаете, что сведения ошибочны, "
              "подайте заявление на справку о наличии полиса ОМС — мы сверим данные реестров и объясним "
              "результат — или напишите в службу поддержки.")


def _user() -> User:
    user = current_actor()
    assert user is not None
    return user


def _lookup(user: User, channel: str) -> OwnPolicy:
    """Find the policy and journal the read (who, which channel, what came back - never the number itself)."""
    person = {"last_name": user.last_name, "first_name": user.first_name, "middle_name": user.middle_name,
              "birth_date": user.birth_date.isoformat() if user.birth_date else None, "snils": user.snils}
    try:
        result = own_policy(registry_client(), person, user.enp)
    except RegistryUnavailable:
        journal.record(db.session, None, "policy_viewed", actor=f"user:{user.id}",
                       details={"user_id": user.id, "channel": channel, "outcome": "registry_unavailable"})
        db.session.commit()
        raise
    journal.record(db.session, None, "policy_viewed", actor=f"user:{user.id}",
                   details={"user_id": user.id, "channel": channel, "outcome": result.outcome,
                            "status": result.status})
    db.session.commit()
    return result


def _actions(result: OwnPolicy) -> list[dict[str, str]]:
    """What the citizen can do about a policy that is not active."""
    if result.outcome != "found" or result.status == "active":
        return []
    return [{"action": "certificate", "label": "Подать заявление на справку о наличии полиса ОМС",
             "url": url_for("apply.start")},
            {"action": "support_request", "label": "Написать в службу поддержки",
             "url": url_for("support.new", type="other")}]


@pages.get("")
@roles_required(CITIZEN)
def show() -> tuple[str, int]:
    user = _user()
    try:
        result = _lookup(user, "page")
    except RegistryUnavailable:
        return render_template("account/policy.html", result=None, unavailable=REGISTRY_DOWN), 503
    return render_template("account/policy.html", result=result, unavailable=None, status_labels=STATUS_LABELS,
                           next_steps=NEXT_STEPS, actions=_actions(result)), 200


@api.get("")
@roles_required(CITIZEN)
def show_json() -> Response:
    """{outcome: found|not_found|no_identity, enp, status, insurer, region, valid_from, valid_to, reason,
    next_steps, actions}; 503 when ЕРЗЛ cannot answer."""
    user = _user()
    try:
        result = _lookup(user, "api")
    except RegistryUnavailable as exc:
        raise ApiError(503, "registry_unavailable", REGISTRY_DOWN) from exc
    body: dict[str, Any] = result.to_dict()
    body["status_label"] = STATUS_LABELS.get(result.status or "")
    body["next_steps"] = NEXT_STEPS if _actions(result) else None
    body["actions"] = _actions(result)
    if result.outcome == "not_found":
        body["message"] = ("Полис по данным вашего профиля не найден. Проверьте ЕНП или СНИЛС, ФИО и дату "
                           "рождения в профиле.")
    elif result.outcome == "no_identity":
        body["message"] = "Укажите в профиле номер полиса ОМС (ЕНП) или СНИЛС и дату рождения."
    return jsonify(body)
