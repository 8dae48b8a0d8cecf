"""What the booking's notices say: confirmed, the slot taken, moved, not moved, cancelled, the reminder.

The same `Notice` as the case notices, so the same delivery (portal, e-mail, SMS, each once per
outbox call: tasks/cases/notice_delivery.py) sends them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tasks.cases.notifications import Notice
from tasks.config import AppConfig
from tasks.documents.formatting import format_datetime

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), undefined=StrictUndefined,
                   autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)  # noqa: S701 - plain text


def visit_time(value: str) -> str:
    """«15.12.2026 в 09:30» (Moscow time, as the clinic keeps it)."""
    return format_datetime(datetime.fromisoformat(value)).replace(" ", " в ", 1)


_env.filters["visit_time"] = visit_time


def appointment_url(config: AppConfig, number: str) -> str:
    return f"{config.public_base_url}/appointments/{number}"


def render(config: AppConfig, event: str, **context: Any) -> Notice:
    """The notice of `event` with its context (number, name, slot, organization, next_slots...)."""
    context = {**context, "event": event, "url": appointment_url(config, context["number"]),
               "new_url": f"{config.public_base_url}/appointments/new"}
    tpl = _env.get_template("notice.txt")

    def block(name: str) -> str:
        return "".join(tpl.blocks[name](tpl.new_context(context))).strip()

    return Notice(event=f"appointment_{event}", subject=" ".join(block("subject").split()), text=tpl.render(context),
                  body=block("body"), sms=" ".join(block("sms").split()))
