"""What a refusal reason means for the applicant: what was found (as far as they may see it) and the
next step that can help. The one place the case page, the refusal decision PDF and the refusal notice
read it from.

`REASON_STEPS` is data: per reason code the main action and the advice. Re-entering the same data can
only help where the data was wrong (personal data, the policy number, missing documents): there the
main action is «Подать повторно». Where the policy itself is the problem, the insurer can help, and
an appeal if the applicant believes the refusal wrong; resubmitting is then the second choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forms.dates import format_ru_date

from .labels import reason_label

RESUBMIT = "resubmit"  # the main action: correct the data and submit again
INSURER = "insurer"  # the main action: contact the insurer (then resubmit, or appeal)
PAY = "pay"  # the main action: pay the contributions (organisations), then resubmit

UNKNOWN_INSURER = "страховую медицинскую организацию или территориальный фонд ОМС вашего региона"


@dataclass(frozen=True)
class NextStep:
    main: str  # RESUBMIT | INSURER | PAY
    advice: str  # «{insurer}» becomes the insurer's name when the registry named one


REASON_STEPS: dict[str, NextStep] = {
    "personal_data_mismatch": NextStep(RESUBMIT, "Сверьте ФИО, дату рождения, паспорт и СНИЛС с документами и "
                                                 "подайте заявление повторно с исправленными сведениями."),
    "policy_not_found": NextStep(RESUBMIT, "Сверьте номер полиса (ЕНП, 16 цифр) с полисом или выпиской и подайте "
                                           "заявление повторно. Если номера под рукой нет, оставьте поле пустым: "
                                           "полис будет найден по СНИЛС."),
    "documents_missing": NextStep(RESUBMIT, "Приложите недостающие документы и подайте заявление повторно."),
    "policy_expired": NextStep(INSURER, "Обратитесь в {insurer}: там переоформят полис или объяснят, почему он "
                                        "недействителен. Когда полис будет действовать, подайте заявление повторно. "
                                        "Если считаете отказ ошибочным, обжалуйте его."),
    "no_insurance_record": NextStep(INSURER, "Обратитесь в {insurer}, чтобы оформить полис ОМС или узнать, почему "
                                             "сведений о страховании нет. Если считаете отказ ошибочным, "
                                             "обжалуйте его."),
    "contributions_unpaid": NextStep(PAY, "Уплатите задолженность по страховым взносам и подайте заявление "
                                          "повторно. Если считаете отказ ошибочным, обжалуйте его."),
}
OTHER_STEP = NextStep(RESUBMIT, "Исправьте сведения и подайте заявление повторно или обжалуйте отказ.")


@dataclass(frozen=True)
class ExplainedReason:
    code: str
    label: str  # the reason's official wording
    found: str | None  # what the registry check found, in the applicant's words
    note: str | None  # the decision's own explanation (the rule's or the employee's)
    advice: str
    main: str

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.label, "found": self.found, "note": self.note,
                "advice": self.advice, "main_action": self.main}


def _insurer(check: Mapping[str, Any]) -> str | None:
    insurer = check.get("insurer") if check.get("found") else None
    return insurer.get("name") if isinstance(insurer, dict) and insurer.get("name") else None


def _policy_found(check: Mapping[str, Any]) -> str | None:
    """The policy check in a sentence: expired (and when), annulled (and why), or not covering the period."""
    if not check.get("found"):
        return None
    insurer = _insurer(check)
    policy = f"Полис № {check['enp']}" if check.get("enp") else "Полис"
    policy += f" ({insurer})" if insurer else ""
    status, reason = check.get("status"), (check.get("reason") or "").strip()
    if status == "expired" and check.get("valid_to"):
        return f"{policy} действовал по {format_ru_date(check['valid_to'])}: срок его действия истёк."
    if status == "annulled":
        why = reason.split(":", 1)[1].strip() if ":" in reason else reason
        return f"{policy} аннулирован" + (f": {why.rstrip('.')}." if why else ".")
    if status == "active" and not check.get("covers_period"):
        until = f" по {format_ru_date(check['valid_to'])}" if check.get("valid_to") else ""
        start = f" с {format_ru_date(check['valid_from'])}" if check.get("valid_from") else ""
        return f"{policy} действует{start}{until} и не охватывает весь период справки."
    return None


def found_text(code: str, check: Mapping[str, Any] | None) -> str | None:
    """What the case's recorded policy check says about the reason `code` (None when it says nothing)."""
    check = check or {}
    if code == "policy_expired":
        return _policy_found(check)
    if code == "policy_not_found" and check and not check.get("found") and check.get("enp"):
        return f"Полис № {check['enp']} не найден в едином регистре застрахованных лиц."
    if code == "no_insurance_record" and check and not check.get("found") and check.get("lookup") == "snils":
        return "По вашему СНИЛС в едином регистре застрахованных лиц нет ни одного полиса."
    return None


def explain(reasons: list[Mapping[str, Any]], policy_check: Mapping[str, Any] | None) -> list[ExplainedReason]:
    """The refusal's reasons with what was found and the advice. Reasons that already carry `found` and
    `advice` (as the stored decision and the refusal notice do) keep them."""
    insurer = _insurer(policy_check or {})
    whom = f"страховую медицинскую организацию {insurer}" if insurer else UNKNOWN_INSURER
    out = []
    for reason in reasons:
        code = str(reason.get("code") or "")
        step = REASON_STEPS.get(code, OTHER_STEP)
        found = reason.get("found") or found_text(code, policy_check)
        advice = reason.get("advice") or step.advice.format(insurer=whom)
        out.append(ExplainedReason(code, reason_label(code), found, reason.get("note"), advice, step.main))
    return out


def main_action(reasons: list[ExplainedReason]) -> str:
    """The case's main action: resubmission when any reason is a matter of data, else the reasons' own."""
    mains = [r.main for r in reasons]
    return RESUBMIT if RESUBMIT in mains or not mains else mains[0]
