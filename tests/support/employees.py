"""Employee lists and registry datasets for the organisation tests and the benchmark.

`demo_employees(...)` takes employees from the bundled demo ЕРЗЛ (so the shared registry fixture
answers for them); `generated_people(n)` makes n distinct people with valid ЕНП (Luhn) and
`registry_dataset(path, people, uninsured=...)` writes a REGISTRY_DATA file that insures them
(except the given indexes), with the demo organisations, for a registry service of its own.
`employees_csv(rows)` is the file an HR department would upload (UTF-8 with BOM, «;»).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from stdnum import luhn

from engine import journal
from engine.models import MessageSubscription
from tasks.cases.models.cases import Application
from tests.support.accounts import bearer, login, unique_email
from tests.support.product import Product, this_year_period
from tests.support.registry import demo_dataset
from web.extensions import db

HEADERS = ("Фамилия", "Имя", "Отчество", "Дата рождения", "ИНН", "Должность", "Номер полиса ОМС (ЕНП)", "E-mail")
_MALE = (("Иванов", "Сергей", "Петрович"), ("Смирнов", "Алексей", "Иванович"), ("Кузнецов", "Дмитрий", "Олегович"),
         ("Попов", "Андрей", "Николаевич"), ("Соколов", "Михаил", "Сергеевич"), ("Лебедев", "Павел", "Андреевич"),
         ("Козлов", "Николай", "Викторович"), ("Новиков", "Игорь", "Александрович"))
_FEMALE = (("Иванова", "Мария", "Петровна"), ("Смирнова", "Анна", "Ивановна"), ("Кузнецова", "Елена", "Олеговна"),
           ("Попова", "Ольга", "Николаевна"), ("Соколова", "Татьяна", "Сергеевна"), ("Лебедева", "Ирина", "Андреевна"),
           ("Козлова", "Наталья", "Викторовна"), ("Новикова", "Светлана", "Александровна"))
_POSITIONS = ("Инженер", "Бухгалтер", "Менеджер по продажам", "Кладовщик", "Водитель", "Специалист по кадрам")
INSURER = {"name": "АО «СОГАЗ-Мед»", "code": "77011"}


def enp(number: int, prefix: str = "50") -> str:
    """A 16-digit ЕНП with a valid Luhn check digit."""
    body = f"{prefix}{number:013d}"
    return body + luhn.calc_check_digit(body)


def org_body(short_name: str = "ООО «Ромашка»", **organization: Any) -> dict[str, Any]:
    """A valid API body for an organisation of the demo ЕГРЮЛ, applied for by its head."""
    record = next(o for o in demo_dataset()["organizations"] if o["short_name"] == short_name)
    org = {"name": record["name"], "inn": record["inn"], "kpp": record["kpp"], "ogrn": record["ogrn"],
           "legal_address": record["legal_address"], "phone": "+74951234567", "email": "hr@example.ru",
           **organization}
    return {"applicant": "organization", "organization": org,
            "representative": {"position": "Генеральный директор", "authority": "head"},
            "period": this_year_period()}


def head_person(short_name: str = "ООО «Ромашка»") -> dict[str, str]:
    """The ФИО ЕГРЮЛ names as the organisation's head: an account with it applies as the head
    without an operator having to confirm the authority (organization_decision.dmn)."""
    record = next(o for o in demo_dataset()["organizations"] if o["short_name"] == short_name)
    head = record.get("head") or {"last_name": "Иванов", "first_name": "Сергей"}
    return {k: head[k] for k in ("last_name", "first_name", "middle_name") if head.get(k)}


def head_token(product: Product, short_name: str = "ООО «Ромашка»", email: str | None = None) -> str:
    """An API token of a new citizen account named as the organisation's head in ЕГРЮЛ."""
    return product.citizen_token(email, **head_person(short_name))


def _covers_this_year(policy: dict[str, Any]) -> bool:
    period = this_year_period()
    return (policy["status"] == "active" and policy["valid_from"] <= period["from"]
            and (policy["valid_to"] is None or policy["valid_to"] >= period["to"]))


def demo_employees(insured: int = 3, expired: int = 0, unknown: int = 0) -> list[dict[str, Any]]:
    """Rows of people the demo ЕРЗЛ knows: `insured` covered this year, `expired` with an expired or
    annulled policy, and `unknown` with a valid-looking ЕНП that ЕРЗЛ does not have."""
    data = demo_dataset()
    persons = {p["snils"].replace("-", "").replace(" ", ""): p for p in data["persons"]}
    covered = [p for p in data["policies"] if _covers_this_year(p) and p.get("snils") in persons]
    ended = [p for p in data["policies"] if p["status"] in ("expired", "annulled") and p.get("snils") in persons
             and not any(_covers_this_year(q) for q in data["policies"] if q.get("snils") == p["snils"])]
    assert len(covered) >= insured and len(ended) >= expired, "the demo dataset has too few policies"
    rows = []
    for policy in covered[:insured] + ended[:expired]:
        person = persons[policy["snils"]]
        rows.append(_row(len(rows), person["last_name"], person["first_name"], person.get("middle_name"),
                         date.fromisoformat(policy["birth_date"]), policy["enp"]))
    for i in range(unknown):
        rows.append(_row(len(rows), "Неизвестный", "Пётр", "Ильич", date(1990, 1, 1) + timedelta(days=i),
                         enp(900_000 + i, prefix="99")))
    return rows


def generated_people(count: int, start: int = 0) -> list[dict[str, Any]]:
    """`count` distinct people (no two share a ЕНП, nor ФИО and birth date)."""
    rows = []
    for i in range(start, start + count):
        names = (_MALE if i % 2 == 0 else _FEMALE)[(i // 2) % len(_MALE)]
        rows.append(_row(i, *names, date(1960, 1, 1) + timedelta(days=i), enp(i)))
    return rows


def _row(i: int, last_name: str, first_name: str, middle_name: str | None, birth: date, number: str) -> dict[str, Any]:
    return {"last_name": last_name, "first_name": first_name, "middle_name": middle_name, "birth_date": birth,
            "inn": None, "position": _POSITIONS[i % len(_POSITIONS)], "enp": number,
            "email": f"employee{i}@example.ru"}


def employees_csv(rows: list[dict[str, Any]], *, extra: list[list[str]] | None = None) -> bytes:
    """The list as Russian Excel saves a CSV: UTF-8 with BOM, «;», dates ДД.ММ.ГГГГ; `extra` rows appended as is."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for r in rows:
        writer.writerow([r["last_name"], r["first_name"], r["middle_name"] or "", r["birth_date"].strftime("%d.%m.%Y"),
                         r["inn"] or "", r["position"], r["enp"], r["email"]])
    for r in extra or []:
        writer.writerow(r)
    return out.getvalue().encode("utf-8-sig")


def registry_dataset(path: Path, people: list[dict[str, Any]], uninsured: set[int] = frozenset()) -> Path:
    """A REGISTRY_DATA file: the demo organisations and a policy for every person but `uninsured` (indexes)."""
    demo = demo_dataset()
    policies = [{"enp": p["enp"], "snils": None, "birth_date": p["birth_date"].isoformat(), "insurer": INSURER,
                 "region": "г. Москва", "valid_from": "2010-01-01", "valid_to": None, "status": "active"}
                for i, p in enumerate(people) if i not in uninsured]
    data = {"persons": [], "policies": policies, "organizations": demo["organizations"],
            "medical_organizations": demo["medical_organizations"]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


# ------------------------------------------------------------------------- over the API
def submit(product: Product, token: str, short_name: str = "ООО «Ромашка»", **organization: Any) -> str:
    body = org_body(short_name, **organization)
    r = product.client().post("/api/v1/applications", json=body, headers=bearer(token))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["applicant"] == "organization"
    return r.get_json()["number"]


def upload(product: Product, token: str, number: str, data: bytes, filename: str = "работники.csv") -> Any:
    return product.client().post(f"/api/v1/applications/{number}/employees", headers=bearer(token),
                                 data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def complete(product: Product, token: str, task: dict[str, Any], form: dict[str, Any]) -> Any:
    return product.client().post(f"/api/v1/tasks/{task['id']}/complete", json=form, headers=bearer(token))


def waits_for(product: Product, number: str, message: str) -> bool:
    with product.app.app_context():
        app = db.session.scalar(select(Application).where(Application.number == number))
        return bool(db.session.scalar(select(MessageSubscription.id).where(
            MessageSubscription.instance_id == app.instance_id, MessageSubscription.message_name == message)))


def application_data(product: Product, number: str) -> dict[str, Any]:
    """The case's current application data as stored."""
    with product.app.app_context():
        return db.session.scalar(select(Application.data).where(Application.number == number))


def journal_events(product: Product, number: str) -> list[str]:
    with product.app.app_context():
        app = db.session.scalar(select(Application).where(Application.number == number))
        return [e.event for e in journal.read(db.session, app.instance_id)]


def delivered_messages(product: Product, number: str) -> list[str]:
    """Names of the BPMN messages delivered to the case's instance, in order."""
    with product.app.app_context():
        app = db.session.scalar(select(Application).where(Application.number == number))
        return [e.message for e in journal.read(db.session, app.instance_id) if e.event == "message_delivered"]


def page_client(product: Product) -> tuple[Any, str]:
    """A browser-like client logged in as a new citizen (named as ООО «Ромашка»'s head), and its API token."""
    email = unique_email("hr")
    token = head_token(product, email=email)
    client = product.client()
    assert login(client, email).status_code in (302, 303)
    return client, token
