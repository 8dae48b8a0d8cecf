"""E-mail to the applicant when their case changes status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tasks.config import AppConfig
from tasks.mail import send_mail

from .labels import reason_label, status_label

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates" / "mail"),
                   undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)  # noqa: S701 - plain text


def case_url(config: AppConfig, number: str) -> str:
    return f"{config.public_base_url}/applications/{number}"


def status_mail(config: AppConfig, *, number: str, name: str, status: str,
                reasons: list[dict[str, Any]] | None = None, message: str | None = None) -> tuple[str, str]:
    """Subject and text of the notice; reasons carry their Russian label and the explanation."""
    label = status_label(status)
    text = _env.get_template("status.txt").render(
        name=name, number=number, status=status, label=label, url=case_url(config, number), message=message,
        reasons=[{"label": reason_label(r.get("code", "")), "note": r.get("note")} for r in reasons or []],
    )
    return f"Заявление № {number}: {label}", text


def notify_status(config: AppConfig, *, to: str, number: str, name: str, status: str,
                  reasons: list[dict[str, Any]] | None = None, message: str | None = None) -> None:
    subject, text = status_mail(config, number=number, name=name, status=status, reasons=reasons, message=message)
    send_mail(config, to, subject, text)
