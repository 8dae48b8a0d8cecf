"""Outgoing e-mail: SMTP when SMTP_URL is set, otherwise .eml files in the data dir and a log line.

The file fallback is what makes the embedded mode usable without any mail server: a newcomer finds
the activation code on the demo mailbox page, which reads these files back. Log lines name the
recipient masked and never the subject or text: letters carry codes and personal data.

SMTP_URL forms: `smtp://host[:25]` (plain), `smtp+starttls://host[:587]` (STARTTLS before
authenticating), `smtps://host[:465]` (implicit TLS); `user:password@` may precede the host
(percent-encode special characters).
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import encoders, policy
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesParser
from email.utils import format_datetime, formataddr, make_msgid, parseaddr, parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from engine.clock import utcnow
from engine.private_files import write_private

if TYPE_CHECKING:
    from tasks.config import AppConfig

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 15.0
_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class MailError(Exception):
    """The message could not be handed to the mail server."""


@dataclass(frozen=True)
class StoredMail:
    """A message written by the file fallback, as the demo mailbox shows it."""

    name: str
    to: str
    subject: str
    sent_at: datetime | None
    text: str


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (the employee register's PDF and XLSX)."""

    filename: str  # ASCII: some mail clients still mangle encoded names
    content_type: str  # "application/pdf"
    data: bytes


def send_mail(config: AppConfig, to: str, subject: str, text: str, html: str | None = None,
              attachments: Sequence[Attachment] = (), *, dedup_key: str | None = None) -> None:
    """Send one message; raises MailError when the SMTP server cannot take it.

    With `dedup_key` (a notice's delivery key) the Message-ID is derived from it, so a letter sent again
    after its sender died between the server's «250» and recording it carries the same Message-ID, and
    mail clients show it once."""
    message = build_message(config.mail_from, to, subject, text, html, attachments, dedup_key=dedup_key)
    if config.smtp_url:
        _send_smtp(config.smtp_url, parseaddr(config.mail_from)[1], to, message)
        log.info("mail sent to %s", mask_email(to))
    else:
        path = _store(config.mail_dir, message, international=_international(config.mail_from, to))
        log.info("mail to %s stored in %s (no SMTP_URL: see the demo mailbox)", mask_email(to), path.name)


def mask_email(address: str) -> str:
    """`m…@example.ru`: enough to tell letters apart in a log, not enough to name the person."""
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return "…"
    return f"{local[:1]}…@{domain}"


def build_message(sender: str, to: str, subject: str, text: str, html: str | None = None,
                  attachments: Sequence[Attachment] = (), *, dedup_key: str | None = None) -> Message:
    """The letter: a UTF-8 text part (base64), with an HTML alternative and attachments when given.

    Built with the email package's MIME classes (its compat32 API) rather than EmailMessage: EmailMessage
    parses every header into objects when it is set and folds it again when the letter is written, about
    1 ms of CPU per letter, a third of a notice's whole delivery, for a letter that reads the same. Header
    values never span lines (a line break in one would start a forged header): refused, as EmailMessage did.
    """
    if any("\r" in value or "\n" in value for value in (sender, to, subject)):
        raise ValueError("header values may not contain line breaks")
    message: Message = MIMEText(text, "plain", "utf-8")
    if html is not None:
        alternative = MIMEMultipart("alternative")
        alternative.attach(message)
        alternative.attach(MIMEText(html, "html", "utf-8"))
        message = alternative
    if attachments:  # the text (and html) part stays first: multipart/mixed
        mixed = MIMEMultipart("mixed")
        mixed.attach(message)
        for attachment in attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            part = MIMEBase(maintype, subtype)
            part.set_payload(attachment.data)
            encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
            mixed.attach(part)
        message = mixed
    name, address = parseaddr(sender)
    message["From"] = formataddr((name, address), "utf-8")  # a Russian display name, encoded (RFC 2047)
    message["To"] = to
    message["Subject"] = subject  # encoded (RFC 2047) when it is not ASCII
    message["Date"] = format_datetime(utcnow())
    if dedup_key is None:
        message["Message-ID"] = make_msgid(domain=_domain(sender))
    else:  # the sender is in the hash: two installations' «call:42» are different letters
        digest = hashlib.blake2b(f"{sender}|{to}|{dedup_key}".encode(), digest_size=16).hexdigest()
        message["Message-ID"] = f"<notice.{digest}@{_domain(sender)}>"
    return message


def message_bytes(message: Message, *, international: bool = False) -> bytes:
    """The letter as it goes on the wire (CRLF line ends). An address that is not ASCII (a mailbox on a
    Cyrillic domain) cannot be encoded in a header: such a letter is written in UTF-8, for SMTPUTF8."""
    return message.as_bytes(policy=policy.SMTPUTF8 if international else _WIRE)


_WIRE = policy.compat32.clone(linesep="\r\n")


def _international(*addresses: str) -> bool:
    return not all(address.isascii() for address in addresses)


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip(" >") or "localhost"


def _send_smtp(url: str, sender: str, to: str, message: Message) -> None:
    """Hand `message` to the server for `to`, from the envelope address `sender`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise MailError(f"SMTP_URL must look like smtp://host:port, smtp+starttls://... or smtps://..., got {url!r}")
    port = parts.port or _DEFAULT_PORTS[scheme]
    international = _international(sender, to)
    data = message_bytes(message, international=international)
    try:
        client = _kept_connection(url) or _connect(scheme, parts.hostname, port, parts.username, parts.password)
        try:
            if international:
                client.ehlo_or_helo_if_needed()  # the server's extensions are known after its greeting
                if not client.has_extn("smtputf8"):
                    raise smtplib.SMTPNotSupportedError("one of the addresses needs SMTPUTF8, which the server lacks")
            client.sendmail(sender, [to], data, ("SMTPUTF8", "BODY=8BITMIME") if international else ())
        except BaseException:
            _close(client)  # the server's state after a failed transaction is unknown: never reuse it
            raise
        _keep(url, client)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"SMTP {parts.hostname}:{port}: {exc.__class__.__name__}: {exc}") from exc


def _connect(scheme: str, host: str, port: int, username: str | None, password: str | None) -> smtplib.SMTP:
    if scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=_tls_context())
    else:
        client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    try:
        if scheme == "smtp+starttls":
            client.starttls(context=_tls_context())
        if username:
            client.login(unquote(username), unquote(password or ""))
    except BaseException:
        _close(client)
        raise
    return client


# Each thread keeps its last SMTP connection for the next message: a worker sends two notices per
# case, and connecting, greeting (EHLO, STARTTLS, AUTH) and QUIT cost more CPU on both ends than the
# message itself. A kept connection is checked with NOOP before use (one round trip, no new
# handshake) and dropped when idle for KEEP_IDLE_S: servers close idle sessions after a few minutes
# (RFC 5321 4.5.3.2.7), and a connection found dead is simply replaced.
KEEP_IDLE_S = 30.0
_kept = threading.local()


def _kept_connection(url: str) -> smtplib.SMTP | None:
    client, kept_url, since = getattr(_kept, "entry", (None, None, 0.0))
    _kept.entry = (None, None, 0.0)
    if client is None:
        return None
    if kept_url != url or time.monotonic() - since > KEEP_IDLE_S:
        _close(client)
        return None
    try:
        if client.noop()[0] == 250:
            return client
    except (smtplib.SMTPException, OSError):
        pass
    except BaseException:  # a job timeout while waiting for the answer: close the socket, then go on failing
        client.close()
        raise
    _close(client)
    return None


def _keep(url: str, client: smtplib.SMTP) -> None:
    _kept.entry = (client, url, time.monotonic())


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


@cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process, made on first use: building one loads the system CA
    bundle, ~20 ms of CPU, which every notice paid before (and plain smtp:// needs none at all)."""
    return ssl.create_default_context()


def _store(mail_dir: Path, message: Message, *, international: bool = False) -> Path:
    """Write the message as an .eml; names start with a UTC timestamp so they sort by time."""
    name = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
    data = message_bytes(message, international=international)
    return write_private(mail_dir / name, data)  # 0600, written atomically


def stored_mails(mail_dir: Path, limit: int = 50) -> list[StoredMail]:
    """The newest `limit` stored messages, newest first."""
    if not mail_dir.is_dir():
        return []
    paths = sorted(mail_dir.glob("*.eml"), key=lambda p: p.name, reverse=True)[:limit]
    return [_read(path) for path in paths]


def _read(path: Path) -> StoredMail:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    body = message.get_body(preferencelist=("plain",))
    try:
        sent_at = parsedate_to_datetime(message["Date"]) if message["Date"] else None
    except (TypeError, ValueError):
        sent_at = None
    return StoredMail(name=path.name, to=str(message["To"] or ""), subject=str(message["Subject"] or ""),
                      sent_at=sent_at, text=body.get_content() if body is not None else "")
