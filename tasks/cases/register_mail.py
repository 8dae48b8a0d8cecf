"""The letter that carries an organisation's register to its e-mail (templates/mail/register.txt).

Not a case notice (notifications.py): it goes to the employer's address from the application, not
to an account, and carries the register as attachments. The text names the organisation, the
period and the counts; the employees themselves are only in the attached files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tasks.config import AppConfig
from tasks.documents.formatting import format_date
from tasks.documents.register import register_verify_url

from .models.cases import Application, Certificate
from .notifications import case_url

TEMPLATE = "register.txt"

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates" / "mail"),
                   undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,  # noqa: S701 - plain text
                   trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class RegisterMail:
    subject: str
    text: str


def register_mail(config: AppConfig, app: Application, register: Certificate) -> RegisterMail:
    """Subject and text of the letter with `register` (a stored register row of the case `app`)."""
    counts = (register.data or {}).get("counts") or {}
    org = app.data["organization"]
    context = {
        "number": app.number, "register_number": register.number, "organization": org["name"], "inn": org["inn"],
        "issued": format_date(register.issued_at), "period_from": format_date(register.period_from),
        "period_to": format_date(register.period_to), "total": counts.get("total", 0),
        "insured": counts.get("insured", 0), "not_insured": counts.get("not_insured", 0),
        "verify_url": register_verify_url(config, register.number), "url": case_url(config, app.number),
    }
    template = _env.get_template(TEMPLATE)

    def block(name: str) -> str:
        return "".join(template.blocks[name](template.new_context(context)))

    return RegisterMail(subject=" ".join(block("subject").split()), text=block("text").lstrip("\n"))
