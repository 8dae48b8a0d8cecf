"""Outgoing SMS through an adapter: an HTTP provider when SMS_URL is set, otherwise files and a log line.

Like tasks.mail, the file adapter keeps the embedded mode usable without a provider: the message is
written to `<data dir>/sms/` as JSON and logged, so a newcomer (and a test) can see what would have
gone out.

The HTTP adapter speaks the smallest common denominator of SMS gateways: `POST SMS_URL` with the JSON
body `{"to": "+79991234567", "text": "..."}` and, when SMS_TOKEN is set, `Authorization: Bearer
<token>`; any 2xx is accepted. A provider with another API gets its own adapter class here.
Failures say whether a later attempt may succeed: network errors, timeouts, 408, 429 and 5xx are
retryable (`SmsError.retryable`); other 4xx mean the provider refused this very message (a wrong
number, a bad token) and retrying it would only repeat the refusal.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import urllib3

from engine.clock import utcnow
from engine.private_files import write_private
from tasks.http import shared_pool

if TYPE_CHECKING:
    from tasks.config import AppConfig

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
_RETRYABLE_STATUSES = frozenset({408, 425, 429})


class SmsError(Exception):
    """The message was not accepted; `retryable` says whether trying again later makes sense."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class SmsAdapter(Protocol):
    def send(self, to: str, text: str) -> None:
        """Hand one message to the provider; raises SmsError when it was not accepted."""


@dataclass(frozen=True)
class StoredSms:
    """A message written by the file adapter."""

    name: str
    to: str
    text: str
    sent_at: datetime | None


class HttpSmsAdapter:
    """POST {to, text} as JSON to the provider's URL, with a Bearer token when one is configured."""

    def __init__(self, url: str, token: str | None = None, *, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT) -> None:
        self.url = url
        self.token = token
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)

    def send(self, to: str, text: str) -> None:
        """Through the process's pool for the provider (tasks/http.py): its connection and TLS session are kept
        between messages instead of made for each one."""
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = json.dumps({"to": to, "text": text}, ensure_ascii=False).encode()
        try:
            response = shared_pool(self.url).request("POST", self.url, body=body, headers=headers,
                                                     timeout=self.timeout)
        except urllib3.exceptions.HTTPError as exc:
            raise SmsError(f"SMS provider unreachable: {exc.__class__.__name__}: {exc}") from exc
        if 200 <= response.status < 300:
            log.info("sms sent to %s", _masked(to))
            return
        retryable = response.status >= 500 or response.status in _RETRYABLE_STATUSES
        answer = response.data.decode("utf-8", errors="replace")[:200]
        raise SmsError(f"SMS provider answered {response.status}: {answer}", retryable=retryable)


class FileSmsAdapter:
    """No provider configured: write the message to a file in the data dir and log it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, to: str, text: str) -> None:
        now = utcnow()
        name = f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.json"
        body = json.dumps({"to": to, "text": text, "sent_at": now.isoformat()}, ensure_ascii=False)
        write_private(self.directory / name, body.encode())  # 0600, written atomically
        log.info("sms to %s stored in %s (no SMS_URL)", _masked(to), name)


def sms_adapter(config: AppConfig) -> SmsAdapter:
    """The adapter the configuration asks for: the HTTP provider when SMS_URL is set, else files."""
    if config.sms_url:
        return HttpSmsAdapter(config.sms_url, config.sms_token)
    return FileSmsAdapter(config.sms_dir)


def stored_sms(directory: Path, limit: int = 50) -> list[StoredSms]:
    """The newest `limit` messages written by the file adapter, newest first."""
    if not directory.is_dir():
        return []
    paths = sorted(directory.glob("*.json"), key=lambda p: p.name, reverse=True)[:limit]
    result = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        sent_at = datetime.fromisoformat(data["sent_at"]) if data.get("sent_at") else None
        result.append(StoredSms(name=path.name, to=data["to"], text=data["text"], sent_at=sent_at))
    return result


def _masked(phone: str) -> str:
    """+79161234567 -> +7916***4567: logs need to tell numbers apart, not to hold them."""
    return phone[:5] + "***" + phone[-4:] if len(phone) > 9 else "***"
