"""GET /demo/mailbox: the mail the embedded mode wrote to files instead of sending.

Only without SMTP_URL and with DEMO_MAILBOX on (404 otherwise). DEMO_MAILBOX is an explicit demo
switch, off by default: `make run` turns it on for a newcomer who has no mail server and reads the
activation code here; any other start (the Docker image, docker compose, production) leaves it off,
since before SMTP_URL is configured anyone could otherwise read others' codes.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from forms.dates import MOSCOW
from tasks.config import AppConfig
from tasks.mail import stored_mails

from .security import public
from .services import app_config

bp = Blueprint("demo_mailbox", __name__)

SHOWN = 50


@bp.get("/demo/mailbox")
@public
def mailbox() -> str:
    config: AppConfig = app_config()
    if not mailbox_enabled():
        abort(404)
    return render_template("demo/mailbox.html", mails=stored_mails(config.mail_dir, SHOWN), shown=SHOWN,
                           moscow=MOSCOW)


def mailbox_enabled() -> bool:
    config = app_config()
    return config.smtp_url is None and config.demo_mailbox


@bp.app_context_processor
def _mailbox_link() -> dict[str, bool]:
    """Lets the footer of base.html link the mailbox while it exists."""
    return {"demo_mailbox_enabled": mailbox_enabled()}
