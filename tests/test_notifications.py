"""Notifications: the per-event texts, the SMS adapters, consent, the in-portal list and the outbox.

The templates are checked word for word where the wording matters (status, deadlines, rights); the
SMS adapters talk to a real HTTP server on 127.0.0.1; the product tests run the real app, workers
and SMTP server: a case going to «ready» leaves notices in the portal, the mailbox and (with consent)
the SMS provider, and an SMTP outage only delays the mail.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from sqlalchemy import func, select, update

from engine.clock import utcnow
from engine.models import ServiceCall
from engine.sla import SlaRegistry
from tasks.accounts.models import User
from tasks.cases.catalogue import service
from tasks.cases.models.cases import Application
from tasks.cases.models.notifications import Notification, NotificationDelivery
from tasks.cases.notice_delivery import DeliveryFailed, deliver, recipient, sender_lock
from tasks.cases.notifications import EVENTS, default_event, render_notice
from tasks.config import AppConfig
from tasks.process import install_config, installed_config
from tasks.sms import FileSmsAdapter, HttpSmsAdapter, SmsError, sms_adapter, stored_sms
from tests.support.accounts import PASSWORD, add_user, bearer, client_from, csrf_token, fresh_otp, login, unique_email
from tests.support.backend import wait_for
from tests.support.product import PRODUCT_WORKFLOWS
from tests.support.queries import insert_waits_on_lock
from web.extensions import db

NUMBER = "2026-000123"
BASE = "https://oms.example.ru"
CONFIG = AppConfig(data_dir=Path("/nonexistent"), registry_url="", registry_data=Path("."), registry_faults="",
                   smtp_url=None, secret_key="k", public_base_url=BASE)
CASE_URL = f"{BASE}/applications/{NUMBER}"

# event -> (details, phrases the mail must contain)
EXPECTED: dict[str, tuple[dict, list[str]]] = {
    "submitted": ({}, ["Ваше заявление № 2026-000123 о выдаче справки о наличии полиса ОМС принято"]),
    "in_progress": ({}, ["передано специалисту и находится в обработке"]),
    "status_changed": ({}, ["Статус заявления № 2026-000123 изменился: «На обжаловании»."]),
    "needs_info": ({"due_date": "2026-12-25"}, ["требуется уточнение сведений",
                                                "Что нужно уточнить: Приложите скан полиса",
                                                "Ответьте на странице заявления до 25.12.2026"]),
    "info_answered": ({}, ["Уточнённые сведения по заявлению № 2026-000123 получены"]),
    "rejected": ({}, ["принято решение об отказе в выдаче справки",
                      "— Полис ОМС истёк или аннулирован: Полис аннулирован 01.02.2025",
                      "Что делать: Обратитесь в страховую медицинскую организацию или территориальный фонд ОМС",
                      "подать заявление повторно либо обжаловать решение"]),
    "ready": ({}, ["Справка о наличии полиса ОМС по заявлению № 2026-000123 готова"]),
    "closed": ({}, ["Заявление № 2026-000123 закрыто: срок для ответа на запрос, повторной подачи "
                    "или обжалования истёк"]),
    "cancelled": ({"reason": "Заявление подано повторно по ошибке"},
                  ["Рассмотрение заявления № 2026-000123 прекращено: заявление отменено.",
                   "Причина: Заявление подано повторно по ошибке",
                   "При необходимости подайте новое заявление."]),
    "appeal_registered": ({"appeal_number": "Ж-2026-000007", "due_date": "2026-12-09"},
                          ["Ваша жалоба № Ж-2026-000007 на решение по заявлению № 2026-000123 зарегистрирована",
                           "Ответ будет дан не позднее 09.12.2026"]),
    "appeal_decided": ({"outcome": "upheld", "appeal_number": "Ж-2026-000007", "comment": "Полис аннулирован."},
                       ["Решение об отказе в выдаче справки оставлено в силе",
                        "Пояснение специалиста: Полис аннулирован.",
                        "вы вправе подать жалобу второго уровня в вышестоящий орган на странице заявления "
                        "или обратиться в суд"]),
    "appeal_reminder": ({"due_date": "2026-12-09"},
                        ["срок рассмотрения жалобы по заявлению № 2026-000123 истекает 09.12.2026"]),
}
REASONS = [{"code": "policy_expired", "note": "Полис аннулирован 01.02.2025"}]
# The product's own terms, whatever diagrams an earlier test in this process installed.
PRODUCT_TERMS = SlaRegistry.from_sources(PRODUCT_WORKFLOWS / "sla.toml", "")


def notice(event: str, details: dict | None = None, **kwargs):
    status = {"status_changed": "appealed"}.get(event, "rejected")
    return render_notice(CONFIG, event=event, number=NUMBER, name="Мария Петровна", status=status,
                         reasons=kwargs.get("reasons", REASONS), message=kwargs.get("message", "Приложите скан полиса"),
                         details=EXPECTED[event][0] if details is None else details, catalogue=PRODUCT_TERMS)


def test_every_event_has_a_template_with_expectations() -> None:
    assert set(EXPECTED) == EVENTS


@pytest.mark.parametrize("event", sorted(EXPECTED))
def test_each_event_renders_its_russian_text_with_the_link(event: str) -> None:
    n = notice(event)
    assert n.text.startswith("Здравствуйте, Мария Петровна!\n\n")
    for phrase in EXPECTED[event][1]:
        assert phrase in n.text, (phrase, n.text)
        assert phrase in n.body  # the in-portal text is the message itself
    assert NUMBER in n.subject and NUMBER in n.sms
    link = f"{BASE}/staff/cases/{NUMBER}/journal" if event == "appeal_reminder" else CASE_URL
    assert f": {link}\n" in n.text
    assert "Здравствуйте" not in n.body and "отвечать на него не нужно" not in n.body
    assert n.text.endswith("Это письмо отправлено автоматически, отвечать на него не нужно.\n")
    assert "\n\n\n" not in n.text  # no stray blank lines from optional parts
    # SMS: one line, within a 160-character message, nothing personal but the number and status
    assert len(n.sms) <= 160 and "\n" not in n.sms
    assert "Мария" not in n.sms and "аннулирован 01.02" not in n.sms and "Приложите" not in n.sms


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_an_sms_begins_with_the_service_of_the_case(event: str) -> None:
    """A change of data is not a certificate: its SMS say so from their first word (services.toml sms_name)."""
    change = service("personal_data_change")
    details = EXPECTED[event][0]
    n = render_notice(CONFIG, event=event, number=NUMBER, name="М", status="rejected", reasons=REASONS,
                      message="Приложите скан", details=details, catalogue=PRODUCT_TERMS, service=change)
    assert n.sms.startswith("Данные полиса ОМС: ") and "Справка" not in n.sms, n.sms
    assert notice(event).sms.startswith("Справка ОМС: ")


def test_appeal_outcomes_have_their_own_words() -> None:
    overturned = notice("appeal_decided", {"outcome": "overturned", "appeal_number": "Ж-1"})
    assert "Ваша жалоба № Ж-1 по заявлению № 2026-000123 рассмотрена и удовлетворена: решение об отказе " \
           "отменено." in overturned.text
    assert "второго уровня" not in overturned.text
    asked = notice("appeal_decided", {"outcome": "info_requested", "due_date": "2026-12-01T10:00:00+00:00"},
                   message=None)
    assert asked.subject == "Жалоба по заявлению № 2026-000123: требуются сведения"
    assert "нужны дополнительные сведения" in asked.text
    assert "Ответьте на странице заявления до 01.12.2026." in asked.text
    assert "Пояснение специалиста" not in asked.text
    with pytest.raises(ValueError, match="outcome"):
        notice("appeal_decided", {"outcome": "maybe"})


def test_details_the_appeal_diagram_passes() -> None:
    """The keys workflows/certificate_individual.bpmn passes (decision number, levels, deadlines as sla() ISO UTC)."""
    rejected = notice("rejected", {"decision_number": "2026-000123/1", "due_date": "2026-12-08T21:00:00+00:00"})
    assert "об отказе в выдаче справки о наличии полиса ОМС (решение № 2026-000123/1)." in rejected.text
    assert "либо обжаловать решение на странице заявления до 09.12.2026." in rejected.text  # Moscow date
    second = notice("appeal_registered", {"appeal_number": "Ж-2", "level": 2, "due_date": "2026-12-09"})
    assert "Ваша жалоба второго уровня № Ж-2 на решение по заявлению № 2026-000123 зарегистрирована" in second.text
    upheld = notice("appeal_decided", {"outcome": "upheld", "level": 1, "due_date": "2026-12-20"}, message=None)
    assert "подать жалобу второго уровня в вышестоящий орган на странице заявления до 20.12.2026 или " \
           "обратиться в суд." in upheld.text
    final = notice("appeal_decided", {"outcome": "upheld", "level": 2}, message=None)
    assert "вы вправе обратиться в суд." in final.text and "подать жалобу второго уровня" not in final.text
    answered = notice("info_answered", {"appeal_number": "Ж-2"})
    assert "Уточнённые сведения по жалобе № Ж-2 к заявлению № 2026-000123 получены. Рассмотрение жалобы " \
           "продолжается" in answered.text


def test_optional_parts_and_missing_details() -> None:
    plain = notice("needs_info", {}, message=None)
    assert "Ответьте на странице заявления в течение 30 дней, иначе заявление будет закрыто." in plain.text
    assert "Что нужно уточнить" not in plain.text
    assert "Причины отказа" not in notice("rejected", reasons=[]).text
    with pytest.raises(UndefinedError):  # a diagram that forgets a detail fails loudly, never mails a blank
        notice("appeal_registered", {"appeal_number": "Ж-1"})
    with pytest.raises(ValueError, match="unknown notification event"):
        render_notice(CONFIG, event="paid", number=NUMBER, name="М", status="ready", catalogue=PRODUCT_TERMS)


def test_default_event_follows_the_status() -> None:
    assert [default_event(s) for s in ("submitted", "needs_info", "rejected", "ready", "closed", "in_progress")] == \
           ["submitted", "needs_info", "rejected", "ready", "closed", "in_progress"]
    assert default_event("appealed") == default_event("approved") == "status_changed"


# ---------------------------------------------------------------------- SMS adapters
class SmsProvider:
    """A tiny SMS gateway on 127.0.0.1: records what it accepts; can fail or stall on demand."""

    def __init__(self, fail_first: int = 0, status: int = 503, delay: float = 0.0) -> None:
        self.received: list[dict] = []
        self.headers: list[dict] = []
        self.fail_first, self.status, self.delay = fail_first, status, delay
        self.requests = 0
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with provider.lock:
                    provider.requests += 1
                    failing = provider.requests <= provider.fail_first
                    if not failing:
                        provider.received.append(body)
                        provider.headers.append(dict(self.headers))
                time.sleep(provider.delay)
                self.send_response(provider.status if failing else 200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id": "1"}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def texts_to(self, phone: str) -> list[str]:
        with self.lock:
            return [m["text"] for m in self.received if m["to"] == phone]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sms_provider() -> Iterator[SmsProvider]:
    provider = SmsProvider()
    yield provider
    provider.close()


def test_http_adapter_posts_json_with_the_token(sms_provider: SmsProvider) -> None:
    HttpSmsAdapter(sms_provider.url, "secret-token").send("+79161234567", "Справка ОМС: заявление № 1 принято.")
    assert sms_provider.received == [{"to": "+79161234567", "text": "Справка ОМС: заявление № 1 принято."}]
    assert sms_provider.headers[0]["Authorization"] == "Bearer secret-token"
    HttpSmsAdapter(sms_provider.url).send("+79161234567", "без токена")
    assert "Authorization" not in sms_provider.headers[1]


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (500, True), (429, True), (400, False), (401, False)])
def test_http_adapter_errors_say_whether_to_retry(status: int, retryable: bool) -> None:
    provider = SmsProvider(fail_first=1, status=status)
    try:
        with pytest.raises(SmsError) as failure:
            HttpSmsAdapter(provider.url).send("+79161234567", "текст")
        assert failure.value.retryable is retryable
        assert str(status) in str(failure.value)
    finally:
        provider.close()


def test_http_adapter_unreachable_or_slow_provider_is_retryable() -> None:
    provider = SmsProvider(delay=1.0)
    url = provider.url
    try:
        with pytest.raises(SmsError) as slow:
            HttpSmsAdapter(url, read_timeout=0.2).send("+79161234567", "текст")
        assert slow.value.retryable and "ReadTimeout" in str(slow.value)
    finally:
        provider.close()
    with pytest.raises(SmsError) as down:  # the port is closed now
        HttpSmsAdapter(url, connect_timeout=1).send("+79161234567", "текст")
    assert down.value.retryable and "unreachable" in str(down.value) and "NewConnectionError" in str(down.value)


def test_without_sms_url_messages_go_to_files(tmp_path: Path, sms_provider: SmsProvider) -> None:
    config = replace(CONFIG, data_dir=tmp_path)
    adapter = sms_adapter(config)
    assert isinstance(adapter, FileSmsAdapter)
    adapter.send("+79161234567", "Справка ОМС: справка по заявлению № 1 готова.")
    adapter.send("+79161234568", "второе")
    stored = stored_sms(config.sms_dir)
    assert [(s.to, s.text) for s in stored] == [("+79161234568", "второе"),
                                                ("+79161234567", "Справка ОМС: справка по заявлению № 1 готова.")]
    assert stored[0].sent_at is not None
    assert not list(config.sms_dir.glob(".*"))  # no temporary files left behind
    assert isinstance(sms_adapter(replace(config, sms_url=sms_provider.url)), HttpSmsAdapter)


# ---------------------------------------------------------------------- the product
def _notifications(product, token: str, **params) -> dict:
    r = product.client().get("/api/v1/notifications", query_string=params, headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _staff_token(product, role: str) -> str:
    email = add_user(product.app, role)
    r = product.client().post("/api/v1/auth/token", json={"email": email, "password": PASSWORD,
                                                          "otp": fresh_otp(product.app, email)})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def _mails_to(product, email: str) -> list:
    return [m for m in product.smtp.messages if email.lower() in m.rcpt_tos]


def test_ready_case_notifies_portal_mail_and_sms_only_with_consent(product_with) -> None:
    """Two citizens, one opted in to SMS; the provider fails once, so the SMS is retried, the mail is not."""
    provider = SmsProvider(fail_first=1)
    try:
        product = product_with(SMS_URL=provider.url, SMS_TOKEN="tok", NOTIFY_RETRY_BASE_DELAY="0.2",
                               NOTIFY_RETRY_MAX_DELAY="1")
        texting, silent = unique_email("sms"), unique_email("nosms")
        token = product.citizen_token(texting, phone="+79160000001", sms_opt_in=True)
        other = product.citizen_token(silent, phone="+79160000002")
        number = product.apply(token)["number"]
        other_number = product.apply(other, index=1)["number"]
        product.wait_status(token, number, "ready")
        product.wait_status(other, other_number, "ready")

        sms = wait_for(lambda: (t := provider.texts_to("+79160000001")) and len(t) >= 2 and t, timeout=60,
                       message="two SMS to the citizen who opted in")
        assert sorted(sms) == sorted([f"Справка ОМС: заявление № {number} принято. Статус можно узнать в личном "
                                      f"кабинете.",
                                      f"Справка ОМС: справка по заявлению № {number} готова. Скачайте её в личном "
                                      f"кабинете."])
        assert provider.headers[0]["Authorization"] == "Bearer tok"
        assert provider.requests == 3  # the first attempt failed and was retried
        wait_for(lambda: len(_mails_to(product, silent)) >= 3, timeout=60, message="mail to the second citizen")
        time.sleep(1.5)  # any duplicate from a retry would arrive by now
        assert provider.texts_to("+79160000002") == []  # no consent, no SMS
        for email, case in ((texting, number), (silent, other_number)):
            subjects = sorted(m.subject for m in _mails_to(product, email) if case in m.subject)
            assert subjects == [f"Заявление № {case} принято", f"Заявление № {case}: справка готова"], subjects

        ready_mail = next(m for m in _mails_to(product, texting) if "готова" in m.subject)
        assert "Здравствуйте, Сергей!" in ready_mail.text
        assert f"Страница заявления: http://127.0.0.1:8765/applications/{number}" in ready_mail.text

        listing = _notifications(product, token)
        assert listing["total"] == 2 and listing["unread"] == 2
        assert [n["event"] for n in listing["items"]] == ["ready", "submitted"]  # newest first
        ready = listing["items"][0]
        assert ready["title"] == f"Заявление № {number}: справка готова" and ready["case_number"] == number
        assert ready["text"] == f"Справка о наличии полиса ОМС по заявлению № {number} готова. Скачать её можно " \
                                f"на странице заявления."
        assert ready["read"] is False

        # someone else's notice does not exist for the other citizen
        r = product.client().post(f"/api/v1/notifications/{ready['id']}/read", headers=bearer(other))
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
        assert all(n["case_number"] == other_number for n in _notifications(product, other)["items"])
        r = product.client().post(f"/api/v1/notifications/{ready['id']}/read", headers=bearer(token))
        assert r.status_code == 200 and r.get_json()["read"] is True
        assert _notifications(product, token)["unread"] == 1
        assert [n["event"] for n in _notifications(product, token, unread=1)["items"]] == ["submitted"]
        staff = _staff_token(product, "operator")
        assert product.client().get("/api/v1/notifications", headers=bearer(staff)).status_code == 403

        with product.app.app_context():  # each notice once in the portal, each channel delivered once
            keys = db.session.scalars(select(NotificationDelivery.key).where(
                NotificationDelivery.case_number == number, NotificationDelivery.status == "sent")).all()
            assert sorted(k.split(":")[2] for k in keys) == ["email", "email", "sms", "sms"]
            assert db.session.scalar(select(NotificationDelivery.attempts).where(
                NotificationDelivery.case_number == number, NotificationDelivery.channel == "email")) == 1
    finally:
        provider.close()


def test_notification_pages_and_settings(product) -> None:
    email = unique_email("pages")
    token = product.citizen_token(email)
    number = product.apply(token)["number"]
    product.wait_status(token, number, "ready")
    wait_for(lambda: _notifications(product, token)["total"] == 2, timeout=30, message="two notices")
    client = product.client()
    assert login(client, email).status_code == 302

    home = client.get("/applications").get_data(as_text=True)
    assert 'href="/notifications">Уведомления' in home and ">2<span class=\"visually-hidden\"> непрочитанных" in home
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count("Новое</span>") == 2
    assert f"Заявление № {number}: справка готова" in page and f'href="/applications/{number}"' in page
    first = _notifications(product, token)["items"][0]["id"]
    r = client.post(f"/notifications/{first}/read", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count("Новое</span>") == 1
    missing = client.post(f"/notifications/{first + 10_000}/read", data={"csrf_token": csrf_token(page)})
    assert missing.status_code == 404
    assert client.post(f"/notifications/{first}/read", data={}).status_code == 400  # no CSRF token
    client.post("/notifications/read-all", data={"csrf_token": csrf_token(page)})
    assert "Новое</span>" not in client.get("/notifications").get_data(as_text=True)

    # settings: the page (CSRF form, errors next to the field) and the API
    form = client.get("/notifications/settings").get_data(as_text=True)
    assert 'for="f-sms-opt-in">Получать SMS-уведомления' in form and 'value="+79161234567"' in form
    r = client.post("/notifications/settings", data={"csrf_token": csrf_token(form), "phone": "12345",
                                                     "sms_opt_in": "on"})
    assert r.status_code == 422 and "Введите номер телефона в формате +7XXXXXXXXXX" in r.get_data(as_text=True)
    r = client.post("/notifications/settings", data={"csrf_token": csrf_token(form), "phone": "8 (916) 765-43-21",
                                                     "sms_opt_in": "on"})
    assert r.status_code == 302
    r = product.client().get("/api/v1/notifications/settings", headers=bearer(token))
    assert r.get_json() == {"phone": "+79167654321", "sms_opt_in": True}
    r = product.client().patch("/api/v1/notifications/settings", json={"sms_opt_in": False}, headers=bearer(token))
    assert r.status_code == 200 and r.get_json() == {"phone": "+79167654321", "sms_opt_in": False}
    r = product.client().patch("/api/v1/notifications/settings", json={"phone": "", "sms_opt_in": "yes"},
                               headers=bearer(token))
    assert r.status_code == 422
    assert {f["field"] for f in r.get_json()["error"]["fields"]} == {"phone", "sms_opt_in"}
    me = product.client().get("/api/v1/auth/me", headers=bearer(token)).get_json()
    assert me["sms_opt_in"] is False and me["phone"] == "+79167654321"


def test_registration_page_has_the_sms_checkbox(make_app) -> None:
    page = client_from(make_app()).get("/register").get_data(as_text=True)
    assert 'type="checkbox" id="f-sms-opt-in" name="sms_opt_in"' in page
    assert "Получать SMS-уведомления" in page


def test_smtp_outage_delays_the_decision_mail_never_loses_it(product_with) -> None:
    """The mail server is down while the case is decided; the notice waits in the outbox and is
    delivered once the server is back — once, although its job failed and was retried."""
    product = product_with(NOTIFY_RETRY_BASE_DELAY="0.3", NOTIFY_RETRY_MAX_DELAY="1")
    email = unique_email("outage")
    token = product.citizen_token(email)  # the activation code still needs the server
    product.smtp.stop()
    try:
        number = product.apply(token)["number"]
        product.wait_status(token, number, "ready")
        with product.app.app_context():
            # Every read ends its transaction at once: on SQLite an open one holds the database lock
            # (BEGIN IMMEDIATE) and would stall the worker and scheduler this test is watching.
            instance_id = db.session.scalar(select(Application.instance_id).where(Application.number == number))
            db.session.rollback()

            def failed_ready_notice() -> bool:
                try:
                    calls = db.session.scalars(select(ServiceCall).where(
                        ServiceCall.instance_id == instance_id, ServiceCall.operator == "notify.case_status")).all()
                    return any(c.params.get("status") == "ready" and (c.last_error or "").startswith("mail_failed")
                               and c.attempts >= 2 and c.status in ("retry_wait", "queued") for c in calls)
                finally:
                    db.session.rollback()

            wait_for(failed_ready_notice, timeout=60, message="the ready notice failing on the dead SMTP server")
            # the citizen already sees it in the portal while the mail waits
            events = db.session.scalars(select(Notification.event).where(Notification.case_number == number)).all()
            db.session.rollback()
            assert sorted(events) == ["ready", "submitted"]
        assert len(_mails_to(product, email)) == 1  # only the activation code, received before the outage
    finally:
        product.smtp.start()
    mails = [product.smtp.wait_for_mail(email, timeout=30), product.smtp.wait_for_mail(email, timeout=30)]
    assert sorted(m.subject for m in mails) == [f"Заявление № {number} принято",
                                                f"Заявление № {number}: справка готова"]
    ready = next(m for m in mails if "готова" in m.subject)
    assert f"http://127.0.0.1:8765/applications/{number}" in ready.text
    time.sleep(2)  # a retry that re-sent would deliver within this time
    assert len(_mails_to(product, email)) == 3
    assert _notifications(product, token)["total"] == 2  # the retries did not duplicate the portal notices
    with product.app.app_context():
        statuses = db.session.scalars(select(ServiceCall.status).where(
            ServiceCall.instance_id == instance_id, ServiceCall.operator == "notify.case_status")).all()
        assert statuses and set(statuses) == {"done"}


def test_notices_waiting_for_the_mail_server_go_out_with_the_first_letter_after_it(product_with) -> None:
    """A notice that failed on a dead mail server waits an hour for its retry here; once the server is back,
    the first letter that goes out (another case's) releases it at once, instead of after its backoff."""
    product = product_with(NOTIFY_RETRY_BASE_DELAY="3600", NOTIFY_RETRY_MAX_DELAY="3600")
    waiting, later = unique_email("waiting"), unique_email("later")
    waiting_token, later_token = product.citizen_token(waiting), product.citizen_token(later)
    product.smtp.stop()
    try:
        number = product.apply(waiting_token)["number"]
        with product.app.app_context():
            def notice_waits() -> bool:
                try:
                    return db.session.scalar(select(func.count()).select_from(ServiceCall).join(
                        Application, Application.instance_id == ServiceCall.instance_id).where(
                        Application.number == number, ServiceCall.operator == "notify.case_status",
                        ServiceCall.status == "retry_wait", ServiceCall.last_error.startswith("mail_failed"))) > 0
                finally:
                    db.session.rollback()

            wait_for(notice_waits, timeout=60, message="the «принято» notice failing on the dead SMTP server")
    finally:
        product.smtp.start()
    later_number = product.apply(later_token)["number"]
    product.smtp.wait_for_mail(later, timeout=60, subject=f"Заявление № {later_number} принято")
    product.smtp.wait_for_mail(waiting, timeout=60, subject=f"Заявление № {number} принято")


def test_appeal_reminder_goes_to_appeals_staff_not_to_the_citizen(product) -> None:
    """Called as a diagram would call it (here directly, in the test process): staff get the reminder
    by e-mail, the citizen gets nothing at all."""
    from tasks.cases.operators import certificates as operators

    email = unique_email("appellant")
    token = product.citizen_token(email)
    number = product.apply(token)["number"]
    product.wait_status(token, number, "ready")
    wait_for(lambda: len(_mails_to(product, email)) >= 3, timeout=30, message="the citizen's mail")
    specialist = add_user(product.app, "appeals")  # an active appeals specialist, «Петров Пётр»
    before = installed_config()
    # The configuration a worker of this product would have, with mail over SMTP and a public address.
    install_config(replace(product.app.extensions["backoffice_config"], smtp_url=product.smtp.url,
                           public_base_url="https://oms.example.ru"))
    try:
        result = operators.case_status(number, "appealed", event="appeal_reminder",
                                       details={"appeal_number": "Ж-2026-000001", "due_date": "2026-12-09"})
    finally:
        install_config(before or product.app.extensions["backoffice_config"])
    # Every active appeals specialist gets it (other tests on this database may have added some).
    assert result["event"] == "appeal_reminder" and specialist in result["sent_to"]
    for address in result["sent_to"]:
        mail = product.smtp.wait_for_mail(address)
        assert mail.subject == f"Напоминание: срок рассмотрения жалобы по заявлению № {number}"
        assert "истекает 09.12.2026" in mail.text
        assert f"https://oms.example.ru/staff/cases/{number}/journal" in mail.text
        if address == specialist:
            assert "Здравствуйте, Пётр!" in mail.text
    assert len(_mails_to(product, email)) == 3  # activation, submitted, ready: no reminder to the citizen
    assert _notifications(product, token)["total"] == 2


def test_notifications_page_in_a_phone_browser(product, tmp_path: Path) -> None:
    """The list on a phone: fits the screen, the header counts the unread, a notice is marked read."""
    from playwright.sync_api import expect

    from tests.support.browser import fits_the_screen, log_in, phone_browser

    email = unique_email("phone")
    token = product.citizen_token(email)
    number = product.apply(token)["number"]
    product.wait_status(token, number, "ready")
    wait_for(lambda: _notifications(product, token)["total"] == 2, timeout=30, message="two notices")
    with phone_browser(product) as (base, page):
        log_in(page, base, email)
        page.get_by_text("Меню 2 непрочитанных уведомлений").click()  # the folded phone menu counts them too
        page.get_by_role("link", name="Уведомления 2 непрочитанных").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Уведомления")
        expect(page.get_by_role("heading", name=f"Новое Заявление № {number}: справка готова")).to_be_visible()
        assert fits_the_screen(page)
        page.get_by_role("button", name=f"Отметить как прочитанное: Заявление № {number}: справка готова").click()
        read = page.get_by_role("heading", name=f"Заявление № {number}: справка готова", exact=True)
        expect(read).to_be_visible()
        page.get_by_text("Меню 1 непрочитанных уведомлений").click()
        expect(page.get_by_role("link", name="Уведомления 1 непрочитанных")).to_be_visible()
        page.screenshot(path=str(tmp_path / "notifications.png"))  # for people checking the layout by eye
        page.get_by_text("Меню 1 непрочитанных уведомлений").click()  # fold the menu away again
        page.get_by_role("link", name="Настройки уведомлений").click()
        page.get_by_label("Получать SMS-уведомления").check()
        page.get_by_role("button", name="Сохранить").click()
        expect(page.get_by_text("Настройки уведомлений сохранены.")).to_be_visible()
        assert fits_the_screen(page)
    assert product.client().get("/api/v1/notifications/settings", headers=bearer(token)).get_json()["sms_opt_in"]


def test_a_notice_another_run_recorded_first_is_retried_not_reported_as_sent(product) -> None:
    """Two runs of one notice job: the one whose portal row loses the race must not report success (its
    result could complete the task while the other run's mail fails), so it fails with a retryable error."""
    email = unique_email("race")
    product.citizen_token(email)
    database = product.app.extensions["backoffice"].database
    config = product.app.extensions["backoffice_config"]
    with product.app.app_context():
        who = recipient(db.session.scalar(select(User).where(User.email == email)), citizen=True)
    notice = render_notice(config, event="submitted", number="2026-999999", name=who.name, status="submitted")
    call_id = 987_654_321
    first = database.sessionmaker()  # the other run, mid-transaction with the same portal row
    first.add(Notification(user_id=who.user_id, case_number="2026-999999", event="submitted", title=notice.subject,
                           text=notice.body, created_at=utcnow(), dedup_key=f"call:{call_id}:portal:{who.user_id}"))
    first.flush()
    outcome: list[object] = []

    def second() -> None:
        try:
            outcome.append(deliver(database, config, call_id=call_id, who=who, notice=notice, number="2026-999999",
                                   instance_id=None))
        except DeliveryFailed as exc:
            outcome.append(exc.code)

    if product.backend.kind == "postgres":
        thread = threading.Thread(target=second)
        thread.start()
        wait_for(lambda: insert_waits_on_lock(database, "notification"), timeout=30, interval=0.05,
                 message="the second run's portal row waiting for the first run")
        first.commit()
        thread.join(timeout=30)
        assert outcome == ["delivery_in_progress"]
        assert len([m for m in product.smtp.messages if email in m.rcpt_tos]) == 1  # the activation code only
        with product.app.app_context():
            assert db.session.scalar(select(NotificationDelivery).where(
                NotificationDelivery.key == f"call:{call_id}:email:{who.user_id}")) is None  # nothing claimed
    else:  # SQLite lets one writer in at a time: the second run finds the portal row and sends the mail still owed
        first.commit()
        second()
        assert outcome == [["email"]]
    first.close()


def _race_notice(product, email: str):
    database = product.app.extensions["backoffice"].database
    config = product.app.extensions["backoffice_config"]
    with product.app.app_context():
        who = recipient(db.session.scalar(select(User).where(User.email == email)), citizen=True)
    notice = render_notice(config, event="submitted", number="2026-999998", name=who.name, status="submitted")
    return database, config, who, notice


def test_two_runs_of_one_notice_sending_at_once_mail_it_once(product) -> None:
    """The first run is mid-send (the mail server has not answered yet) when a second run of the same job
    starts: the second finds the delivery leased and is retried instead of mailing again."""
    email = unique_email("lease")
    product.citizen_token(email)
    database, config, who, notice = _race_notice(product, email)
    call_id = 987_654_322
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(deliver(database, config, call_id=call_id, who=who, notice=notice, number="2026-999998",
                                   instance_id=None))
        except DeliveryFailed as exc:
            outcome.append(exc.code)

    with product.smtp.holding():
        first = threading.Thread(target=run)
        first.start()
        product.smtp.wait_until_held()
        run()  # the second run, while the first one waits for the mail server
        assert outcome == ["delivery_in_progress"]
    first.join(timeout=60)
    assert outcome == ["delivery_in_progress", ["portal", "email"]]
    run()  # a later retry finds the mail sent
    assert outcome[-1] == []
    notices = [m for m in product.smtp.messages if email in m.rcpt_tos and m.subject == notice.subject]
    assert len(notices) == 1


def test_a_lease_whose_run_died_is_taken_over(product) -> None:
    """A run killed mid-send leaves the delivery «sending». On PostgreSQL the run's advisory lock on the
    key died with its connection, so the next run takes over at once (while a live run holds the lock,
    others are retried); on SQLite the next run waits until the lease has run out.

    The fault drill behind it: tests/test_drills.py::test_worker_sigkilled_mid_job."""
    email = unique_email("lease-dead")
    product.citizen_token(email)
    database, config, who, notice = _race_notice(product, email)
    call_id = 987_654_323
    key = f"call:{call_id}:email:{who.user_id}"
    with product.app.app_context():
        db.session.add(NotificationDelivery(key=key, channel="email", user_id=who.user_id, case_number="2026-999998",
                                            status="sending", attempts=0, updated_at=utcnow(),
                                            lease_until=utcnow() + timedelta(minutes=1)))
        db.session.commit()
    if product.backend.kind == "postgres":
        with sender_lock(database, key), pytest.raises(DeliveryFailed) as refused:  # a live run is sending
            deliver(database, config, call_id=call_id, who=who, notice=notice, number="2026-999998", instance_id=None)
        assert refused.value.code == "delivery_in_progress"
    else:
        with pytest.raises(DeliveryFailed) as refused:  # the dead run's lease still runs
            deliver(database, config, call_id=call_id, who=who, notice=notice, number="2026-999998", instance_id=None)
        assert refused.value.code == "delivery_in_progress"
        with product.app.app_context():
            db.session.execute(update(NotificationDelivery).where(NotificationDelivery.key == key)
                               .values(lease_until=utcnow() - timedelta(seconds=1)))
            db.session.commit()
    assert deliver(database, config, call_id=call_id, who=who, notice=notice, number="2026-999998",
                   instance_id=None) == ["portal", "email"]
    with product.app.app_context():
        row = db.session.scalar(select(NotificationDelivery).where(NotificationDelivery.key == key))
        assert (row.status, row.lease_until) == ("sent", None)
    assert len([m for m in product.smtp.messages if email in m.rcpt_tos and m.subject == notice.subject]) == 1
