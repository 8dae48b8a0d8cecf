"""E-mails of the account flow, rendered from templates/accounts/mail/."""

from __future__ import annotations

from flask import current_app, render_template, url_for

from tasks.config import AppConfig
from tasks.mail import send_mail

from .models import User
from .service import ACTIVATION_TTL

# The answer to «Отправить код ещё раз», page and API alike: the same whether or not a code went out.
RESEND_ANSWER = ("Если адрес {email} зарегистрирован и ещё не подтверждён, мы отправили на него новый код. "
                 "Прежний код больше не действует.")


def send_activation_code(user: User, code: str) -> None:
    """Mail the activation code; the code also leads the subject so it shows in mail previews and in the
    log line of the file fallback (how the embedded mode hands it to a newcomer)."""
    config: AppConfig = current_app.extensions["backoffice_config"]
    context = {
        "user": user,
        "code": code,
        "minutes": int(ACTIVATION_TTL.total_seconds() // 60),
        "link": config.public_base_url + url_for("accounts.activate", email=user.email),
    }
    send_mail(config, user.email, f"{code} — код подтверждения регистрации",
              render_template("accounts/mail/activation.txt", **context),
              render_template("accounts/mail/activation.html", **context))


def send_email_change_code(user: User, new_email: str, code: str) -> None:
    """The code that confirms a new address, sent to that address."""
    config: AppConfig = current_app.extensions["backoffice_config"]
    context = {"user": user, "code": code, "minutes": int(ACTIVATION_TTL.total_seconds() // 60),
               "link": config.public_base_url + url_for("account.confirm_email")}
    send_mail(config, new_email, f"{code} — код подтверждения нового адреса",
              render_template("accounts/mail/email_change_code.txt", **context))


def tell_old_address(user: User, old_email: str, new_email: str) -> None:
    """Tell the address being replaced that it was: the owner learns of a change they did not make."""
    config: AppConfig = current_app.extensions["backoffice_config"]
    send_mail(config, old_email, "Адрес электронной почты учётной записи изменён",
              render_template("accounts/mail/email_changed.txt", user=user, old_email=old_email,
                              new_email=new_email, support_phone=config.support_phone,
                              support_email=config.support_email))
