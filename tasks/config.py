"""The product's one configuration object, read from the environment (all optional, see README).

Every process (web app, worker, scheduler, command line) builds one `AppConfig` at its entry point with
`AppConfig.from_env(os.environ)` and passes it on; no module reads the environment by itself, at import
or later. It carries the engine's Settings (`config.settings`: database, Redis, queue; the operator
packages, form folder and production calendar the engine is told about), the registry client's
timeouts, the retry policies of the operators and what the OMS service adds on top: where the
registries are, how mail goes out, the signing secret and the public address printed in QR codes and
e-mail links.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from engine.calendar import BusinessCalendar
from engine.operators import RetryPolicy
from engine.settings import Settings, positive_int_env
from tasks.accounts.passwords import DEFAULT_PROFILE as DEFAULT_PASSWORD_PROFILE
from tasks.accounts.passwords import PROFILES as PASSWORD_PROFILES
from tasks.registries.client import ClientSettings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REGISTRY_PORT = 8010
# The user agreement and the personal-data consent, one HTML file per version (tasks/legal/catalogue.py).
BUNDLED_LEGAL_DOCUMENTS = Path(__file__).resolve().parent / "legal" / "documents"
# What the engine is told about this product: the package whose import registers its operators, the form
# schemas, the diagrams, and the calendar business-day terms are counted on (Russian production calendar,
# Moscow time: the terms of the service are stated in it).
OPERATOR_PACKAGES = ("tasks",)
FORMS_DIR = ROOT / "forms" / "schemas"
WORKFLOWS_DIR = ROOT / "workflows"
CALENDAR_COUNTRY = "RU"
TIME_ZONE = "Europe/Moscow"


@cache
def business_calendar() -> BusinessCalendar:
    """The product's production calendar (one instance, so its per-year cache is shared)."""
    return BusinessCalendar(CALENDAR_COUNTRY, tz=TIME_ZONE)


def engine_settings(env: Mapping[str, str]) -> Settings:
    """The engine's settings from `env`, with this product's operators, forms and calendar."""
    return Settings.from_env(env, workflows_dir=WORKFLOWS_DIR, forms_dirs=[FORMS_DIR],
                             operator_modules=OPERATOR_PACKAGES, calendar_country=CALENDAR_COUNTRY,
                             time_zone=TIME_ZONE)


# Registry outages are waited out: practically unlimited attempts at most a minute apart.
REGISTRY_RETRY = RetryPolicy(max_attempts=100_000, base_delay=1.0, factor=2.0, max_delay=60)
# SMTP outages last minutes to hours: keep trying (capped at 10 minutes apart) rather than lose mail.
MAIL_RETRY = RetryPolicy(max_attempts=200, base_delay=5, factor=2, max_delay=600)
DEFAULT_MAIL_FROM = "Справка ОМС <no-reply@oms.localhost>"
# Printed on the receipt and shown in the portal's footer and error pages until a support desk feature exists.
DEFAULT_SUPPORT_PHONE = "8 800 000-00-00"
DEFAULT_SUPPORT_EMAIL = "support@oms.localhost"


@dataclass(frozen=True)
class AppConfig:
    data_dir: Path
    registry_url: str
    registry_data: Path | None  # None: the registry stand-in's bundled demo dataset
    registry_faults: str
    # Secrets (an SMTP URL may carry a password) stay out of repr(), so logging a config leaks nothing.
    smtp_url: str | None = field(repr=False)  # None: mail is written to data_dir/mail and to the log
    secret_key: str = field(repr=False)
    public_base_url: str
    # Web options: sender address, who may frame the pages, cookie policy, auth rate limits.
    mail_from: str = DEFAULT_MAIL_FROM
    frame_ancestors: str = "'self'"
    session_cookie_secure: bool = False
    hsts: bool = False  # Strict-Transport-Security on every response: only where the site is served over HTTPS
    session_cookie_samesite: str = "Lax"  # "None" (with SESSION_COOKIE_SECURE=1) for cross-site iframes
    rate_limits: bool = True
    demo_mailbox: bool = False  # the page showing file-stored mail: an explicit demo switch (web/demo_mailbox.py)
    # How many reverse proxies in front of the web server set X-Forwarded-For/-Proto (0: none, the client
    # address is the peer's). Only with the right count do per-IP rate limits see the real client.
    trusted_proxies: int = 0
    # SMS provider (tasks/sms.py): None writes SMS to data_dir/sms and to the log, like mail without SMTP_URL.
    sms_url: str | None = None
    sms_token: str | None = field(default=None, repr=False)  # sent as `Authorization: Bearer <token>` to sms_url
    # Where people ask for help: the receipt says to quote the case number «при обращении в службу поддержки».
    support_phone: str = DEFAULT_SUPPORT_PHONE
    support_email: str = DEFAULT_SUPPORT_EMAIL
    # A scraper (Prometheus) sends it as `Authorization: Bearer <token>` to read /metrics from another host.
    metrics_token: str | None = field(default=None, repr=False)
    # Staff sessions end after this long without a request, and this long after the login in any case.
    staff_session_idle_minutes: int = 30
    staff_session_max_hours: int = 12
    # Versions of the legal documents citizens accept; a new file there is asked for at the next login.
    legal_dir: Path = BUNDLED_LEGAL_DOCUMENTS
    # «Кто обращался к моим данным» names the staff who read a citizen's data only where policy allows it.
    tracker_staff_names: bool = False
    # How often (seconds) the scheduler applies the retention rules of closed cases.
    retention_interval: float = 3600.0
    # How often (seconds) the scheduler rolls up the step analytics (PostgreSQL).
    analytics_rollup_interval: float = 300.0
    # How often (seconds) the scheduler refreshes the medical organisations directory from the registry.
    directory_refresh_interval: float = 3600.0
    # The engine's settings; None only in a configuration built by hand for code that needs no engine.
    engine: Settings | None = None
    # The registry client's timeouts and circuit breaker (REGISTRY_TIMEOUT, REGISTRY_BREAKER_*).
    registry_client: ClientSettings = field(default_factory=ClientSettings)
    # The operators' retries: registry calls (REGISTRY_RETRY_MAX_ATTEMPTS / _MAX_DELAY bound them for drills)
    # and mail (NOTIFY_RETRY_BASE_DELAY / _MAX_DELAY shorten the pauses for drills and tests).
    registry_retry: RetryPolicy = REGISTRY_RETRY
    mail_retry: RetryPolicy = MAIL_RETRY
    # The admin token of the bundled registry service (REGISTRY_ADMIN_TOKEN).
    registry_admin_token: str | None = field(default=None, repr=False)
    # argon2-cffi's parameter profile for new password hashes (tasks/accounts/passwords.py); CHEAPEST: tests only.
    password_hash_profile: str = DEFAULT_PASSWORD_PROFILE

    @property
    def settings(self) -> Settings:
        """The engine's settings (a configuration read from the environment always has them)."""
        if self.engine is None:
            raise RuntimeError("this configuration was built without the engine's settings")
        return self.engine

    @property
    def support_phone_uri(self) -> str:
        """The phone as a tel: link (digits only, a leading 8 of a Russian number as +7)."""
        digits = "".join(c for c in self.support_phone if c.isdigit())
        if len(digits) == 11 and digits[0] == "8":
            digits = "7" + digits[1:]
        return f"tel:+{digits}"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def sms_dir(self) -> Path:
        return self.data_dir / "sms"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AppConfig:
        """Read the whole configuration from `env`: an entry point passes os.environ, tests their own mapping."""
        settings = engine_settings(env)
        data_dir = settings.data_dir
        return cls(
            data_dir=data_dir,
            registry_url=(env.get("REGISTRY_URL") or f"http://127.0.0.1:{DEFAULT_REGISTRY_PORT}").rstrip("/"),
            registry_data=Path(env["REGISTRY_DATA"]) if env.get("REGISTRY_DATA") else None,
            registry_faults=env.get("REGISTRY_FAULTS") or "",
            smtp_url=env.get("SMTP_URL") or None,
            secret_key=env.get("SECRET_KEY") or _data_dir_secret(data_dir),
            public_base_url=(env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
            mail_from=env.get("MAIL_FROM") or DEFAULT_MAIL_FROM,
            frame_ancestors=env.get("FRAME_ANCESTORS") or "'self'",
            session_cookie_secure=_flag(env, "SESSION_COOKIE_SECURE", default=False),
            session_cookie_samesite=env.get("SESSION_COOKIE_SAMESITE") or "Lax",
            hsts=_flag(env, "HSTS", default=False),
            rate_limits=_flag(env, "RATE_LIMITS", default=True),
            demo_mailbox=_flag(env, "DEMO_MAILBOX", default=False),
            sms_url=env.get("SMS_URL") or None,
            sms_token=env.get("SMS_TOKEN") or None,
            support_phone=(env.get("SUPPORT_PHONE") or DEFAULT_SUPPORT_PHONE).strip(),
            support_email=(env.get("SUPPORT_EMAIL") or DEFAULT_SUPPORT_EMAIL).strip(),
            metrics_token=(env.get("METRICS_TOKEN") or "").strip() or None,
            staff_session_idle_minutes=positive_int_env(env, "STAFF_SESSION_IDLE_MINUTES", 30),
            staff_session_max_hours=positive_int_env(env, "STAFF_SESSION_MAX_HOURS", 12),
            trusted_proxies=_count(env, "TRUSTED_PROXIES"),
            legal_dir=Path(env.get("LEGAL_DOCUMENTS_DIR") or BUNDLED_LEGAL_DOCUMENTS),
            tracker_staff_names=_flag(env, "TRACKER_STAFF_NAMES", default=False),
            retention_interval=float(env.get("RETENTION_INTERVAL") or 3600),
            analytics_rollup_interval=float(env.get("ANALYTICS_ROLLUP_INTERVAL") or 300),
            directory_refresh_interval=float(env.get("DIRECTORY_REFRESH_INTERVAL") or 3600),
            engine=settings,
            registry_client=ClientSettings.from_env(env),
            registry_retry=replace(
                REGISTRY_RETRY,
                max_attempts=int(env.get("REGISTRY_RETRY_MAX_ATTEMPTS") or REGISTRY_RETRY.max_attempts),
                max_delay=float(env.get("REGISTRY_RETRY_MAX_DELAY") or REGISTRY_RETRY.max_delay)),
            mail_retry=replace(
                MAIL_RETRY,
                base_delay=float(env.get("NOTIFY_RETRY_BASE_DELAY") or MAIL_RETRY.base_delay),
                max_delay=float(env.get("NOTIFY_RETRY_MAX_DELAY") or MAIL_RETRY.max_delay)),
            registry_admin_token=env.get("REGISTRY_ADMIN_TOKEN") or None,
            password_hash_profile=_password_hash_profile(env),
        )

def _password_hash_profile(env: Mapping[str, str]) -> str:
    name = (env.get("PASSWORD_HASH_PROFILE") or DEFAULT_PASSWORD_PROFILE).strip().upper()
    if name not in PASSWORD_PROFILES:
        raise ValueError(f"PASSWORD_HASH_PROFILE={name!r}: one of {', '.join(PASSWORD_PROFILES)}")
    return name


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be on/off (1/0, true/false), got {raw!r}")


def _count(env: Mapping[str, str], name: str) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > 10:
        raise ValueError(f"{name} must be a whole number from 0 to 10, got {raw!r}")
    return int(raw)


def _data_dir_secret(data_dir: Path) -> str:
    """Without SECRET_KEY, keep a random one in the data dir so restarts keep sessions and QR codes valid.

    Written with O_EXCL so that concurrently starting processes agree on one key.
    """
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    for _ in range(50):
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty")
