"""E-mails of the account flow, rendered from templates/accounts/mail/.

No code ever goes into a subject: subjects show in mail previews on a locked phone's screen and in
logs; the code is only in the body.
"""

from __future__ import annotations

from flask import render_template, url_for

from tasks.accounts.models import User
from tasks.accounts.service import ACTIVATION_TTL, RESET_TTL
from tasks.config import AppConfig
from tasks.mail import send_mail

from ..services import app_config

# The answer to «Отправить код ещё раз», page and API alike: the same whether or not a code went out.
RESEND_ANSWER = ("Если адрес {email} зарегистрирован и ещё не подтверждён, мы отправили на него новый код. "
                 "Прежний код больше не действует.")
# The answer to «Забыли пароль?», page and API alike: the same whether or not the address has an account.
RESET_ANSWER = ("Мы отправили письмо на адрес {email}. Если с этим адресом связана учётная запись, в письме "
                "будет код для сброса пароля; он действует {minutes} минут.")
REGISTER_ANSWER = "Мы отправили письмо на адрес {email}. Введите код подтверждения из письма."


def _config() -> AppConfig:
    return app_config()


def _send(to: str, subject: str, template: str, **context: object) -> None:
    """Render templates/accounts/mail/<template>.txt and .html and send them."""
    send_mail(_config(), to, subject, render_template(f"accounts/mail/{template}.txt", **context),
              render_template(f"accounts/mail/{template}.html", **context))


def send_activation_code(user: User, code: str) -> None:
    """Mail the activation code of a new registration."""
    _send(user.email, "Код подтверждения регистрации", "activation", user=user, code=code,
          minutes=int(ACTIVATION_TTL.total_seconds() // 60),
          link=_config().public_base_url + url_for("accounts.activate", email=user.email))


def send_registration_attempt(email: str) -> None:
    """Tell the owner of an address that someone tried to register it again (no code: nothing to misuse)."""
    _send(email, "Попытка повторной регистрации", "registration_attempt",
          login=_config().public_base_url + url_for("accounts.login"),
          reset=_config().public_base_url + url_for("password_reset.request_code"))


def send_password_reset_code(user: User, code: str) -> None:
    """Mail the one-time code that lets the account's owner set a new password."""
    _send(user.email, "Сброс пароля", "password_reset", user=user, code=code,
          minutes=int(RESET_TTL.total_seconds() // 60),
          link=_config().public_base_url + url_for("password_reset.confirm", email=user.email))


def send_reset_no_account(email: str) -> None:
    """A reset asked for an address without an active account: say so to the address, nobody else."""
    _send(email, "Сброс пароля", "password_reset_unknown",
          register=_config().public_base_url + url_for("accounts.register"))


def send_email_change_code(user: User, new_email: str, code: str) -> None:
    """The code that confirms a new address, sent to that address (the code only in the body)."""
    send_mail(_config(), new_email, "Код подтверждения нового адреса",
              render_template("accounts/mail/email_change_code.txt", user=user, code=code,
                              minutes=int(ACTIVATION_TTL.total_seconds() // 60),
                              link=_config().public_base_url + url_for("account.confirm_email")))


def tell_old_address(user: User, old_email: str, new_email: str) -> None:
    """Tell the address being replaced that it was: the owner learns of a change they did not make."""
    config = _config()
    send_mail(config, old_email, "Адрес электронной почты учётной записи изменён",
              render_template("accounts/mail/email_changed.txt", user=user, old_email=old_email,
                              new_email=new_email, support_phone=config.support_phone,
                              support_email=config.support_email))
