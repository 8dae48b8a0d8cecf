"""GET /demo/mailbox: the mail the embedded mode wrote to files instead of sending.

Only without SMTP_URL (404 otherwise): that is the demo/development mode, where a newcomer has no
mail server and reads the activation code here. A production install sets SMTP_URL, and then the
page does not exist at all.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from forms.dates import MOSCOW
from tasks.config import AppConfig
from tasks.mail import stored_mails

from .security import public

bp = Blueprint("demo_mailbox", __name__)

SHOWN = 50


@bp.get("/demo/mailbox")
@public
def mailbox() -> str:
    config: AppConfig = current_app.extensions["backoffice_config"]
    if config.smtp_url is not None:
        abort(404)
    return render_template("demo/mailbox.html", mails=stored_mails(config.mail_dir, SHOWN), shown=SHOWN,
                           moscow=MOSCOW)


@bp.app_context_processor
def _mailbox_link() -> dict[str, bool]:
    """Lets the footer of base.html link the mailbox while it exists."""
    return {"demo_mailbox_enabled": current_app.extensions["backoffice_config"].smtp_url is None}
