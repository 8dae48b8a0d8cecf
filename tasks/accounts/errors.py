"""What can go wrong with an account, with the status, stable code and Russian text each shows as.

The service raises these; the API turns them into its error body and the pages show the
message next to `field` (or above the form when `field` is None).
"""

from __future__ import annotations

from engine.errors import FieldError


class AccountError(Exception):
    status = 400
    code = "account_error"
    field: str | None = None
    default_message = "Действие с учётной записью не выполнено."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def field_errors(self) -> list[FieldError]:
        return [FieldError(self.field, self.code, self.message)] if self.field else []


class EmailTaken(AccountError):
    status, code, field = 409, "email_taken", "email"
    default_message = "Пользователь с таким адресом электронной почты уже зарегистрирован. Войдите в систему."


class InvalidCode(AccountError):
    code, field = "invalid_code", "code"
    default_message = "Неверный код подтверждения."


class CodeExpired(AccountError):
    code, field = "code_expired", "code"
    default_message = ("Срок действия кода истёк. Запросите новый код: «Отправить код ещё раз» "
                       "на странице подтверждения.")


class CodeBurned(AccountError):
    code, field = "code_burned", "code"
    default_message = ("Код введён неверно слишком много раз и больше не действует. "
                       "Запросите новый код: «Отправить код ещё раз» на странице подтверждения.")


class InvalidCredentials(AccountError):
    status, code = 401, "invalid_credentials"
    default_message = "Неверный адрес электронной почты или пароль."


class NotActivated(AccountError):
    status, code = 403, "not_activated"
    default_message = "Адрес электронной почты ещё не подтверждён. Введите код из письма."


class AccountDisabled(AccountError):
    status, code = 403, "account_disabled"
    default_message = "Учётная запись заблокирована. Обратитесь к администратору."


class OtpRequired(AccountError):
    status, code, field = 401, "otp_required", "otp"
    default_message = "Введите одноразовый код из приложения-аутентификатора."


class InvalidOtp(AccountError):
    status, code, field = 401, "invalid_otp", "otp"
    default_message = "Неверный одноразовый код. Введите шесть цифр, которые сейчас показывает приложение."


class OtpReused(AccountError):
    status, code, field = 401, "otp_reused", "otp"
    default_message = ("Этот код уже использован для входа. Дождитесь следующего кода в приложении "
                       "(он меняется каждые 30 секунд) и введите его.")


class TotpEnrolmentRequired(AccountError):
    status, code = 403, "totp_enrolment_required"
    default_message = ("Сотрудники входят с паролем и одноразовым кодом, а приложение-аутентификатор для этой "
                       "учётной записи ещё не подключено. Откройте в браузере одноразовую ссылку для подключения, "
                       "которую выдаёт администратор, войдите и подключите приложение, затем получите токен, "
                       "передав код из приложения в поле otp.")


class EnrolmentLinkRequired(AccountError):
    status, code = 403, "enrolment_link_required"
    default_message = ("Приложение-аутентификатор подключается только по одноразовой ссылке, которую выдаёт "
                       "администратор. Попросите у администратора ссылку, откройте её и войдите снова.")


class NotStaff(AccountError):
    status, code, field = 422, "not_staff", "email"
    default_message = "Второй фактор подключают только сотрудники, а это учётная запись заявителя."


class TotpAlreadyEnrolled(AccountError):
    status, code = 409, "totp_already_enrolled"
    default_message = ("Приложение-аутентификатор для этой учётной записи уже подключено. "
                       "Войдите с кодом из него.")


class UserNotFound(AccountError):
    status, code, field = 404, "user_not_found", "email"
    default_message = "Пользователь с таким адресом электронной почты не найден."


class UnknownRole(AccountError):
    code, field = "unknown_role", "role"
    default_message = "Неизвестная роль."


class WeakPassword(AccountError):
    status, code, field = 422, "weak_password", "password"


class InvalidEmail(AccountError):
    status, code, field = 422, "format", "email"
    default_message = "Введите адрес электронной почты, например name@example.ru"


class WrongPassword(AccountError):
    status, code, field = 403, "wrong_password", "password"
    default_message = "Неверный пароль. Введите пароль, с которым вы входите в личный кабинет."
