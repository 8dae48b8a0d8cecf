"""The public FAQ pages: /faq (the list and the search), /faq/<answer>, /faq/refusal/<reason code>.

A refusal reason's page takes its wording and its advice from the refusal table the case page, the
decision and the notice use (tasks/cases/refusal_advice.py): it adds an explanation from the answer
file `refusal-<code>.md` when there is one, never a second copy of the advice.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from tasks.cases.labels import reason_label
from tasks.cases.refusal_advice import INSURER, PAY, REASON_STEPS, RESUBMIT, UNKNOWN_INSURER

from ..security import public
from .content import REFUSAL_PREFIX, answer, answers, search, snippet

bp = Blueprint("faq", __name__, url_prefix="/faq")
MAIN_ACTIONS = {RESUBMIT: "Исправьте сведения и подайте заявление повторно на странице заявления.",
                INSURER: "Обратитесь в страховую медицинскую организацию; если считаете отказ ошибочным, обжалуйте "
                         "его на странице заявления.",
                PAY: "Уплатите задолженность и подайте заявление повторно на странице заявления."}


def refusal_slug(code: str) -> str:
    return REFUSAL_PREFIX + code.replace("_", "-")


@bp.get("")
@public
def index() -> str:
    query = (request.args.get("q") or "").strip()[:200]
    results = [(a, snippet(a, query)) for a in search(query)] if query else []
    general = [a for a in answers() if a.refusal_code is None]
    reasons = [(code, reason_label(code)) for code in REASON_STEPS]
    return render_template("faq/index.html", query=query, results=results, general=general, reasons=reasons)


@bp.get("/refusal/<code>")
@public
def refusal(code: str) -> str:
    step = REASON_STEPS.get(code)
    if step is None:
        abort(404)
    extra = answer(refusal_slug(code))
    return render_template("faq/refusal.html", code=code, label=reason_label(code),
                           advice=step.advice.format(insurer=UNKNOWN_INSURER), main=MAIN_ACTIONS[step.main],
                           extra=extra)


@bp.get("/<slug>")
@public
def page(slug: str) -> str:
    found = answer(slug)
    if found is None:
        abort(404)
    if found.refusal_code in REASON_STEPS:
        return refusal(found.refusal_code)
    return render_template("faq/page.html", a=found)
