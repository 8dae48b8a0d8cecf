"""A real SMTP server for tests (aiosmtpd on 127.0.0.1, a free port) that keeps what it receives.

The product sends through smtplib exactly as in production (SMTP_URL=server.url); tests then read
the delivered message - typically to fish out the six-digit activation code:

    mail = smtp_server.wait_for_mail("user@example.ru")
    code = activation_code(mail)

Each `wait_for_mail` call hands out the next not yet taken message for that recipient, so a test
that registers twice gets the first and then the second code.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.registry import free_port

_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        return body.get_content() if body is not None else ""

    @property
    def html(self) -> str | None:
        body = self.message.get_body(preferencelist=("html",))
        return body.get_content() if body is not None else None


def activation_code(mail: ReceivedMail) -> str:
    """The six-digit code of an activation or password-reset mail (in its text, never in the subject)."""
    found = _CODE.search(mail.subject) or _CODE.search(mail.text)
    if found is None:
        raise AssertionError(f"no six-digit code in mail {mail.subject!r}")
    return found.group(1)


class _Collector:
    """aiosmtpd handler: parse each message and wake the waiting test."""

    def __init__(self) -> None:
        self.received: list[ReceivedMail] = []
        self.changed = threading.Condition()
        self.sessions = 0  # EHLO greetings: one per SMTP connection a client opened
        self.held = 0  # messages whose answer to DATA is being held (see SmtpServer.holding)
        self.release: threading.Event | None = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:  # aiosmtpd's hook
        session.host_name = hostname
        with self.changed:
            self.sessions += 1
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook name
        release = self.release
        if release is not None:  # a slow mail server: the sender waits for our answer
            with self.changed:
                self.held += 1
                self.changed.notify_all()
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 60)
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        mail = ReceivedMail(envelope.mail_from, tuple(r.lower() for r in envelope.rcpt_tos), message)
        with self.changed:
            self.received.append(mail)
            self.changed.notify_all()
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, credentials: tuple[str, str] | None = None, *, smtputf8: bool = True) -> None:
        self.credentials = credentials
        self.smtputf8 = smtputf8  # offers SMTPUTF8 (RFC 6531, mailboxes on Cyrillic domains), as aiosmtpd does
        self.port = free_port()
        self._collector = _Collector()
        self._taken: set[int] = set()
        self._controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.credentials is not None and (
            auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        return AuthResult(success=ok)

    @property
    def url(self) -> str:
        """The SMTP_URL that points the product at this server."""
        auth = ""
        if self.credentials:
            auth = f"{quote(self.credentials[0], safe='')}:{quote(self.credentials[1], safe='')}@"
        return f"smtp://{auth}127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        """Listen on `port`; after `stop()` this starts again on the same port (an outage that ends).

        A stopped aiosmtpd Controller cannot be restarted (its event loop is closed), so each start
        makes a new one; what was received before stays in `messages`.
        """
        extra: dict = {"enable_SMTPUTF8": self.smtputf8}
        if self.credentials:
            extra |= {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        self._controller = Controller(self._collector, hostname="127.0.0.1", port=self.port, **extra)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until `start()`, like a mail server that is down."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Hold back the answer to every DATA until the block ends: a sender stays mid-send meanwhile."""
        with self._collector.changed:
            self._collector.held = 0
        self._collector.release = threading.Event()
        try:
            yield
        finally:
            self._collector.release.set()
            self._collector.release = None

    def wait_until_held(self, timeout: float = 30.0) -> None:
        """Wait until a sender is mid-send in a `holding` block (its DATA reached us, unanswered)."""
        with self._collector.changed:
            if not self._collector.changed.wait_for(lambda: self._collector.held > 0, timeout):
                raise AssertionError(f"no message held within {timeout:.0f} s")

    @property
    def sessions(self) -> int:
        """How many SMTP sessions (connections greeted with EHLO) clients have opened so far."""
        with self._collector.changed:
            return self._collector.sessions

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._collector.changed:
            return list(self._collector.received)

    def hand_out_received(self) -> None:
        """Count every message received so far as handed out: a server shared by several tests (the module's
        product) then gives `wait_for_mail` only what arrived after this call, as a fresh server would."""
        with self._collector.changed:
            self._taken.update(range(len(self._collector.received)))

    def wait_for_mail(self, to: str, timeout: float = 30.0, subject: str | None = None) -> ReceivedMail:
        """The next message for `to` (with this `subject`, if given) not handed out before; fails the test
        after `timeout` seconds."""
        to = to.lower()
        deadline = time.monotonic() + timeout
        with self._collector.changed:
            while True:
                for index, mail in enumerate(self._collector.received):
                    if index not in self._taken and to in mail.rcpt_tos and subject in (None, mail.subject):
                        self._taken.add(index)
                        return mail
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no mail for {to} within {timeout:.0f} s")
                self._collector.changed.wait(left)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()
