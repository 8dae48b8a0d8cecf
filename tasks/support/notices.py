"""What the support line's notices say: a specialist's answer to the citizen, a reminder to staff.

The same `Notice` as the case notices, so the same delivery (portal, e-mail, SMS, each once per
outbox call: tasks/cases/notice_delivery.py) sends them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tasks.cases.notifications import Notice, ru_date
from tasks.config import AppConfig

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), undefined=StrictUndefined,
                   autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)  # noqa: S701 - plain text
_env.filters["ru_date"] = ru_date

def request_url(config: AppConfig, number: str) -> str:
    return f"{config.public_base_url}/support/{number}"


def render(config: AppConfig, template: str, **context: Any) -> Notice:
    """The notice of `template` (reply | reminder) with its context (number, name, and what the text reads)."""
    url = request_url(config, context["number"]) if template == "reply" else f"{config.public_base_url}/inbox"
    context = {**context, "url": url}
    tpl = _env.get_template(f"{template}.txt")

    def block(name: str) -> str:
        return "".join(tpl.blocks[name](tpl.new_context(context))).strip()

    event = "support_reminder" if template == "reminder" else "support_reply"
    return Notice(event=event, subject=" ".join(block("subject").split()), text=tpl.render(context),
                  body=block("body"), sms=" ".join(block("sms").split()))
