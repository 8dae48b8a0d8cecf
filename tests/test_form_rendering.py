"""Forms rendered from the schemas with Jinja2, parsed back as HTML; flat form <-> API data."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import lxml.html
import pytest
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader
from werkzeug.datastructures import MultiDict

from engine.errors import FieldError
from forms import identifiers as ids
from forms.rendering import (
    TEMPLATES_DIR,
    build_form,
    errors_in_step,
    flat_from_data,
    form_data_from_flat,
    render_form,
    summary,
)
from forms.validation import clean, load_schema

TODAY = date(2025, 6, 15)
APPLICATION = load_schema("individual_application")

FLAT = {
    "applicant": "individual",
    "person.last_name": "Иванова", "person.first_name": "Анна", "person.middle_name": "Сергеевна",
    "person.birth_date": "05.03.1985", "person.citizenship": "Российская Федерация",
    "person.address": "119021, г. Москва, ул. Льва Толстого, д. 16",
    "person.passport.series": "4506", "person.passport.number": "123456",
    "person.passport.issued_on": "01.04.2005", "person.passport.issued_by": "ОВД района Хамовники",
    "person.passport.division_code": "772-001",
    "person.snils": "112-233-445 95", "person.inn": "500100732259",
    "policy_number": "7750110894000052",
    "period.kind": "custom", "period.from": "01.01.2025", "period.to": "31.05.2025",
    "comment": "Для работодателя", "consent": "on",
}


def parse(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(str(html), create_parent="div")


def controls(doc: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    return [el for el in doc.iter("input", "select", "textarea") if el.get("type") != "hidden"]


def by_name(doc: lxml.html.HtmlElement, name: str) -> lxml.html.HtmlElement:
    [el] = doc.xpath("//*[@name=$n]", n=name)
    return el


# ------------------------------------------------------------------ labels and structure
@pytest.mark.parametrize("name", ["registration", "individual_application", "operator_review", "supervisor_review"])
def test_every_control_has_a_label_and_unique_id(name: str) -> None:
    doc = parse(render_form(load_schema(name)))
    ids = [el.get("id") for el in doc.iter() if el.get("id")]
    assert len(ids) == len(set(ids))
    found = controls(doc)
    assert found
    for el in found:
        [label] = doc.xpath("//label[@for=$i]", i=el.get("id"))
        assert label.text_content().strip()
    for label in doc.iter("label"):
        assert doc.xpath("//*[@id=$i]", i=label.get("for")), label.get("for")
    for el in doc.iter():
        for ref in (el.get("aria-describedby") or "").split():
            assert doc.xpath("//*[@id=$i]", i=ref), ref


def test_field_names_are_dotted_paths_with_russian_labels() -> None:
    doc = parse(render_form(APPLICATION))
    series = by_name(doc, "person.passport.series")
    label = doc.xpath("//label[@for=$i]", i=series.get("id"))[0]
    assert label.text_content().replace("*", "").strip() == "Серия"
    assert series.get("aria-required") == "true"
    snils = by_name(doc, "person.snils")
    assert snils.get("inputmode") == "numeric" and snils.get("placeholder") == "000-000-000 00"
    hint = doc.xpath("//*[@id=$i]", i=snils.get("aria-describedby"))[0]
    assert "hint" in hint.get("class") and "11 цифр" in hint.text_content()
    assert doc.xpath("//fieldset[@id='f-person-passport']/legend")[0].text == "Паспорт гражданина Российской Федерации"


def test_widgets_follow_the_schema() -> None:
    doc = parse(render_form(APPLICATION))
    birth = by_name(doc, "person.birth_date")
    assert (birth.get("type"), birth.get("inputmode"), birth.get("placeholder")) == ("text", "numeric", "ДД.ММ.ГГГГ")
    assert by_name(doc, "period.month").get("placeholder") == "ММ.ГГГГ"
    assert by_name(doc, "person.passport.issued_by").tag == "textarea"
    assert by_name(doc, "consent").get("type") == "checkbox"
    assert by_name(doc, "contact.email").get("type") == "email"
    assert by_name(doc, "contact.phone").get("type") == "tel"
    assert by_name(doc, "applicant").get("type") == "hidden" and by_name(doc, "applicant").get("value") == "individual"
    kinds = doc.xpath("//input[@name='period.kind']")
    assert [k.get("type") for k in kinds] == ["radio"] * 3
    labels = [doc.xpath("//label[@for=$i]", i=k.get("id"))[0].text for k in kinds]
    assert labels == ["Текущий год", "Один месяц", "Указать даты"]
    assert doc.xpath("//input[@name='period.kind' and @checked]")[0].get("value") == "current_year"
    form = doc.xpath("//form")[0]
    assert form.get("method") == "post" and form.get("enctype") == "multipart/form-data"
    assert {f.get("name") for f in doc.xpath("//input[@type='file']")} == {
        "documents.passport_copy", "documents.snils_copy", "documents.policy_copy", "documents.other"}


def test_fresh_form_shows_defaults_but_a_posted_one_shows_what_was_posted() -> None:
    fresh = parse(render_form(APPLICATION))
    assert by_name(fresh, "person.citizenship").get("value") == "Российская Федерация"
    posted = parse(render_form(APPLICATION, {"person.citizenship": ""}))
    assert by_name(posted, "person.citizenship").get("value") == ""


def test_password_is_never_echoed() -> None:
    doc = parse(render_form(load_schema("registration"), {"password": "secret-value-1"}))
    assert by_name(doc, "password").get("value") is None
    assert "secret-value-1" not in lxml.html.tostring(doc, encoding="unicode")


# ------------------------------------------------------------------ values and errors
def test_values_are_refilled_and_escaped() -> None:
    flat = {**FLAT, "comment": "<script>alert(1)</script>", "person.last_name": 'О"Нил'}
    doc = parse(render_form(APPLICATION, flat))
    assert by_name(doc, "person.passport.issued_on").get("value") == "01.04.2005"
    assert by_name(doc, "person.last_name").get("value") == 'О"Нил'
    assert by_name(doc, "comment").text == "<script>alert(1)</script>"
    assert not doc.xpath("//script")
    assert by_name(doc, "consent").get("checked") is not None
    assert doc.xpath("//input[@name='period.kind' and @checked]")[0].get("value") == "custom"


def test_error_is_next_to_its_field() -> None:
    flat = {**FLAT, "person.snils": "112-233-445 96", "person.passport.issued_on": "31.02.2005"}
    _, errors = clean(APPLICATION, form_data_from_flat(APPLICATION, flat), today=TODAY)
    assert [(e.field, e.message) for e in errors] == [
        ("person.passport.issued_on", "Такой даты нет в календаре: проверьте день и месяц"),
        ("person.snils", ids.SNILS_TYPO),
    ]
    doc = parse(render_form(APPLICATION, flat, errors))
    snils = by_name(doc, "person.snils")
    assert snils.get("aria-invalid") == "true"
    assert snils.get("value") == "112-233-445 96"
    field = snils.getparent()
    assert "field--error" in field.get("class")
    [message] = field.find_class("field-error")
    assert message.text_content() == f"Ошибка: {ids.SNILS_TYPO}"
    assert message.get("id") in snils.get("aria-describedby").split()
    assert by_name(doc, "person.passport.issued_on").get("value") == "31.02.2005"
    assert by_name(doc, "person.last_name").get("aria-invalid") is None
    summary_links = doc.xpath("//div[@class='error-summary']//a")
    assert [(a.get("href"), a.text) for a in summary_links] == [
        ("#f-person-passport-issued-on", "Дата выдачи — такой даты нет в календаре: проверьте день и месяц"),
        ("#f-person-snils", "СНИЛС — номер СНИЛС введён с ошибкой: сверьте цифры со страховым свидетельством "
                            "или уведомлением СФР"),
    ]
    assert doc.xpath("//div[@class='error-summary']")[0].get("role") == "alert"


def test_group_errors_sit_in_the_group() -> None:
    schema = load_schema("operator_review")
    flat = MultiDict([("decision", "reject"), ("reasons", "policy_expired"), ("reasons", "documents_missing")])
    data, errors = clean(schema, form_data_from_flat(schema, flat), today=TODAY)
    assert data == {"decision": "reject", "reasons": ["policy_expired", "documents_missing"]}
    assert [e.field for e in errors] == ["explanation"]
    doc = parse(render_form(schema, flat, errors))
    checked = doc.xpath("//input[@name='reasons' and @checked]/@value")
    assert checked == ["policy_expired", "documents_missing"]
    assert doc.xpath("//input[@name='decision' and @checked]/@value") == ["reject"]
    explanation = by_name(doc, "explanation")
    assert explanation.get("aria-invalid") == "true"
    assert explanation.getparent().find_class("field-error")[0].text_content().endswith(
        "Напишите заявителю, что не так и что нужно сделать")

    errors = [FieldError("reasons.0", "enum", "Выберите значение из списка")]
    doc = parse(render_form(schema, {"decision": "reject"}, errors))
    group = doc.xpath("//fieldset[@id='f-reasons']")[0]
    assert group.find_class("field-error")[0].text_content() == "Ошибка: Выберите значение из списка"
    assert doc.xpath("//div[@class='error-summary']//a/@href") == ["#f-reasons-0"]


def test_select_for_long_enums() -> None:
    schema = {"type": "object", "additionalProperties": False, "required": ["region"], "properties": {
        "region": {"type": "string", "title": "Регион", "enum": ["77", "78", "50", "47", "23"],
                   "x-enum-labels": {"77": "Москва", "78": "Санкт-Петербург", "50": "Московская область",
                                     "47": "Ленинградская область", "23": "Краснодарский край"}}}}
    doc = parse(render_form(schema, {"region": "50"}))
    select = by_name(doc, "region")
    assert select.tag == "select"
    assert [o.text for o in select.iter("option")][:3] == ["— выберите —", "Москва", "Санкт-Петербург"]
    assert select.xpath("option[@selected]/@value") == ["50"]


# ------------------------------------------------------------------ wizard steps
def test_a_step_renders_only_its_fields_and_errors() -> None:
    errors = [FieldError("person.snils", "checksum", ids.SNILS_TYPO),
              FieldError("person.passport.series", "format", "Серия паспорта должна содержать 4 цифры")]
    doc = parse(render_form(APPLICATION, {"person.passport.series": "45"}, errors, step="passport"))
    names = {el.get("name") for el in controls(doc)}
    assert names == {"person.passport.series", "person.passport.number", "person.passport.issued_on",
                     "person.passport.issued_by", "person.passport.division_code"}
    assert [e.text_content() for e in doc.find_class("field-error")] == [
        "Ошибка: Серия паспорта должна содержать 4 цифры"]
    assert "СНИЛС" not in doc.xpath("//div[@class='error-summary']")[0].text_content()
    assert [e.field for e in errors_in_step(APPLICATION, errors, "ids")] == ["person.snils"]


def test_view_lists_the_steps_of_the_wizard() -> None:
    view = build_form(APPLICATION, step="ids")
    assert [s["id"] for s in view.steps] == ["personal", "passport", "ids", "period", "documents", "review"]
    assert [n.name for n in view.nodes[0].children] == ["person.snils", "person.inn"]
    assert view.nodes[1].name == "policy_number"
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True)
    html = env.from_string('{% import "forms/macros.html" as f %}{{ f.steps(view) }}').render(view=view)
    assert parse(html).xpath("//li[@aria-current='step']")[0].text == "СНИЛС, ИНН и полис"


def test_macros_work_from_an_application_loader() -> None:
    """The web app adds TEMPLATES_DIR to its own loader and calls the macros from its templates."""
    env = Environment(autoescape=True, loader=ChoiceLoader([
        DictLoader({"page.html": '{% import "forms/macros.html" as forms %}<main>{{ forms.form(view, '
                                 'action="/apply", submit="Далее", hidden={"csrf_token": "t<1>"}) }}</main>'}),
        FileSystemLoader(TEMPLATES_DIR)]))
    html = env.get_template("page.html").render(view=build_form(APPLICATION, FLAT, step="period"))
    doc = parse(html)
    assert doc.xpath("//form/@action") == ["/apply"]
    assert doc.xpath("//input[@name='csrf_token']/@value") == ["t<1>"]
    assert doc.xpath("//button")[0].text == "Далее"
    assert by_name(doc, "period.from").get("value") == "01.01.2025"


# ------------------------------------------------------------------ flat <-> data
def test_flat_form_becomes_the_api_dict() -> None:
    data = form_data_from_flat(APPLICATION, FLAT)
    assert data == {
        "applicant": "individual",
        "person": {
            "last_name": "Иванова", "first_name": "Анна", "middle_name": "Сергеевна", "birth_date": "1985-03-05",
            "citizenship": "Российская Федерация", "address": "119021, г. Москва, ул. Льва Толстого, д. 16",
            "passport": {"series": "4506", "number": "123456", "issued_on": "2005-04-01",
                         "issued_by": "ОВД района Хамовники", "division_code": "772-001"},
            "snils": "112-233-445 95", "inn": "500100732259",
        },
        "policy_number": "7750110894000052",
        "period": {"kind": "custom", "from": "2025-01-01", "to": "2025-05-31"},
        "comment": "Для работодателя",
        "consent": True,
    }
    _, errors = clean(APPLICATION, data, today=TODAY)
    assert errors == []


def test_empty_optional_inputs_are_dropped_and_required_objects_kept() -> None:
    flat = {"person.last_name": "  ", "person.middle_name": "", "comment": "", "period.kind": "current_year",
            "contact.email": ""}
    data = form_data_from_flat(APPLICATION, flat)
    assert data == {"applicant": "individual", "person": {"passport": {}}, "period": {"kind": "current_year"}}
    _, errors = clean(APPLICATION, data, today=TODAY)
    assert [(e.field, e.code) for e in errors][:3] == [
        ("person.last_name", "required"), ("person.first_name", "required"), ("person.birth_date", "required")]
    assert ("consent", "required") in [(e.field, e.code) for e in errors]
    assert not any(e.field.startswith("period") for e in errors)


def test_unparseable_dates_reach_validation_as_typed() -> None:
    data = form_data_from_flat(APPLICATION, {**FLAT, "person.birth_date": "5 марта", "period.from": "1.1.2025"})
    assert data["person"]["birth_date"] == "5 марта"
    assert data["period"]["from"] == "2025-01-01"
    _, errors = clean(APPLICATION, data, today=TODAY)
    assert [(e.field, e.message) for e in errors] == [("person.birth_date", "Введите дату в формате ДД.ММ.ГГГГ")]


def test_month_choice_from_the_page() -> None:
    flat = {**FLAT, "period.kind": "month", "period.month": "2.2024", "period.from": "", "period.to": ""}
    data, errors = clean(APPLICATION, form_data_from_flat(APPLICATION, flat), today=TODAY)
    assert errors == []
    assert data["period"] == {"kind": "month", "month": "2024-02", "from": "2024-02-01", "to": "2024-02-29"}


def test_unchecked_checkboxes() -> None:
    schema = {"type": "object", "properties": {"notify": {"type": "boolean", "title": "Уведомлять"},
                                               "count": {"type": "integer", "title": "Количество"}}}
    assert form_data_from_flat(schema, {"count": "3"}) == {"notify": False, "count": 3}
    assert form_data_from_flat(schema, {"notify": "on", "count": "три"}) == {"notify": True, "count": "три"}
    assert form_data_from_flat(APPLICATION, {})["person"] == {"passport": {}}
    assert "consent" not in form_data_from_flat(APPLICATION, {})


@pytest.mark.parametrize("data", [
    {"applicant": "individual",
     "person": {"last_name": "Иванова", "first_name": "Анна", "birth_date": "1985-03-05",
                "passport": {"series": "4506", "number": "123456", "issued_on": "2005-04-01",
                             "issued_by": "ОВД", "division_code": "772-001"},
                "snils": "11223344595"},
     "period": {"kind": "month", "month": "2025-02", "from": "2025-02-01", "to": "2025-02-28"},
     "consent": True},
    {"applicant": "individual", "person": {"passport": {}}, "period": {"from": "2025-01-01", "to": "2025-12-31"},
     "contact": {"phone": "+79991234567"}},
])
def test_data_round_trips_through_the_flat_form(data: dict[str, Any]) -> None:
    flat = flat_from_data(APPLICATION, data)
    assert form_data_from_flat(APPLICATION, flat) == data


def test_flat_round_trips_through_data() -> None:
    flat = dict(FLAT)
    assert flat_from_data(APPLICATION, form_data_from_flat(APPLICATION, flat)) == flat
    review = load_schema("operator_review")
    flat = {"decision": "reject", "reasons": ["policy_expired", "documents_missing"], "explanation": "Полис истёк"}
    assert flat_from_data(review, form_data_from_flat(review, flat)) == flat


def test_flat_from_data_shows_dates_the_russian_way() -> None:
    flat = flat_from_data(APPLICATION, {"person": {"birth_date": "1985-03-05"}, "period": {"month": "2025-03"},
                                        "consent": True, "unknown": "x"})
    assert flat == {"person.birth_date": "05.03.1985", "period.month": "03.2025", "consent": "on"}


# ------------------------------------------------------------------ review summary
def test_summary_for_the_review_step() -> None:
    data, _ = clean(APPLICATION, form_data_from_flat(APPLICATION, FLAT), today=TODAY)
    sections = {s.title: {r.label: r.value for r in s.rows} for s in summary(APPLICATION, data)}
    assert sections["Заявитель"]["Дата рождения"] == "05.03.1985"
    assert sections["Заявитель"]["СНИЛС"] == "112-233-445 95"
    assert sections["Паспорт гражданина Российской Федерации"]["Дата выдачи"] == "01.04.2005"
    assert sections["Период, за который нужна справка"] == {
        "Какой период указать в справке": "Указать даты", "Начало периода": "01.01.2025", "Конец периода": "31.05.2025"}
    assert sections[None]["Даю согласие на обработку моих персональных данных"] == "Да"
    assert "applicant" not in str(sections)
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True)
    html = env.from_string('{% import "forms/macros.html" as f %}{{ f.summary(s, {"passport": "/step/passport"}) }}'
                           ).render(s=summary(APPLICATION, data))
    doc = parse(html)
    assert "Хамовники" in doc.text_content()
    assert doc.xpath("//a/@href") == ["/step/passport"]


def test_an_optional_group_left_empty_is_not_submitted() -> None:
    """The appeal form's «Сведения о полисе» is optional but holds a required «Страховая организация»
    group: left empty, none of it reaches validation; half filled, its missing fields are reported."""
    schema = load_schema("appeal_review")
    empty = MultiDict([("appeal_decision", "overturn"), ("policy.enp", ""), ("policy.insurer.name", ""),
                       ("policy.valid_to", "")])
    data, errors = clean(schema, form_data_from_flat(schema, empty), today=TODAY)
    assert data == {"appeal_decision": "overturn"} and errors == []

    partial = MultiDict([("appeal_decision", "overturn"), ("policy.insurer.name", "АО «СОГАЗ-Мед»")])
    _, errors = clean(schema, form_data_from_flat(schema, partial), today=TODAY)
    assert {"policy.enp", "policy.insurer.code", "policy.region", "policy.valid_from"} <= {e.field for e in errors}


# ------------------------------------------------------------------ dependent fields, stars, summary links
ORGANIZATION = load_schema("organization_application")


def _label_of(doc: lxml.html.HtmlElement, control_id: str) -> lxml.html.HtmlElement:
    [label] = doc.xpath("//label[@for=$i]", i=control_id)
    return label


def _star(doc: lxml.html.HtmlElement, control_id: str) -> str | None:
    """"shown" / "hidden" for the field's required star, None when it has none at all."""
    stars = _label_of(doc, control_id).find_class("required")
    return None if not stars else ("hidden" if stars[0].get("hidden") is not None else "shown")


def test_fields_of_one_choice_are_marked_and_explained() -> None:
    """What forms.js hides until the choice is made, and the hint a page without JavaScript shows."""
    doc = parse(render_form(ORGANIZATION))
    poa = doc.get_element_by_id("f-representative-power-of-attorney")
    assert poa.get("data-shown-if") == '[{"field": "representative.authority", "values": ["power_of_attorney"]}]'
    assert doc.get_element_by_id("f-representative-power-of-attorney-hint").text_content().startswith(
        "Для варианта «По доверенности»")
    scan = by_name(doc, "documents.power_of_attorney").getparent()
    assert scan.get("data-shown-if") and "Для варианта «По доверенности»" in scan.text_content()
    month = by_name(doc, "period.month").getparent()
    assert month.get("data-shown-if") == '[{"field": "period.kind", "values": ["month"]}]'
    assert doc.get_element_by_id("f-period-to-hint").text_content() == (
        "Для варианта «Указать даты». Не больше года от начала")
    assert by_name(doc, "organization.inn").getparent().get("data-shown-if") is None


def test_a_star_only_where_the_field_is_required_now() -> None:
    fresh = parse(render_form(ORGANIZATION))  # «Руководитель» and «Текущий год» are the initial choices
    assert _star(fresh, "f-organization-inn") == "shown"
    for name in ("bik", "account", "corr-account"):  # an optional block: its fields are needed together only
        assert _star(fresh, f"f-organization-bank-{name}") is None
        assert by_name(fresh, f"organization.bank.{name.replace('-', '_')}").get("aria-required") is None
    assert fresh.get_element_by_id("f-organization-bank-hint").text_content() == (
        "Необязательно. Если заполняете этот раздел, заполните все его поля")
    assert _star(fresh, "f-representative-power-of-attorney-number") == "hidden"
    assert by_name(fresh, "representative.power_of_attorney.number").get("aria-required") is None
    assert _star(fresh, "f-representative-power-of-attorney-valid-to") is None  # never required
    assert _star(fresh, "f-period-from") == "hidden"

    chosen = parse(render_form(ORGANIZATION, {"representative.authority": "power_of_attorney",
                                              "period.kind": "custom"}))
    assert _star(chosen, "f-representative-power-of-attorney-number") == "shown"
    assert by_name(chosen, "representative.power_of_attorney.number").get("aria-required") == "true"
    assert _star(chosen, "f-period-from") == "shown" and _star(chosen, "f-period-month") == "hidden"
    number = by_name(chosen, "representative.power_of_attorney.number").getparent()
    assert number.get("data-required-if") == (
        '[{"field": "representative.authority", "values": ["power_of_attorney"]}]')


def test_staff_fields_required_for_some_decisions_follow_the_decision() -> None:
    """explanation is required for «Отказать» and «Запросить уточнение» (two allOf entries, one choice)."""
    doc = parse(render_form(load_schema("operator_review"), {"decision": "approve"}))
    explanation = by_name(doc, "explanation").getparent()
    assert explanation.get("data-required-if") == '[{"field": "decision", "values": ["reject", "request_info"]}]'
    # the applicant reads it only after a refusal or a request: hidden (without JS: hinted) for «Одобрить»
    assert explanation.get("data-shown-if") == '[{"field": "decision", "values": ["reject", "request_info"]}]'
    assert _star(doc, "f-explanation") == "hidden"
    reasons = doc.xpath('//*[@id="f-reasons"]/ancestor-or-self::*[@data-shown-if][1]')
    assert reasons and reasons[0].get("data-shown-if") == '[{"field": "decision", "values": ["reject"]}]'


def test_the_summary_comes_first_and_links_fields_drawn_outside_the_schema() -> None:
    errors = [FieldError("consent", "required", "Дайте согласие"),
              FieldError("files", "format", "a.exe: не тот формат"),
              FieldError("elsewhere", "invalid", "Что-то не так")]
    view = build_form(APPLICATION, FLAT, errors, outside={"files": ("Файлы", "f-files")})
    assert [(e.href, e.text) for e in view.errors] == [
        ("#f-consent", "Даю согласие на обработку моих персональных данных — дайте согласие"),
        ("#f-files", "Файлы — a.exe: не тот формат"),
        (None, "Что-то не так"),
    ]
    doc = parse(render_form(APPLICATION, FLAT, errors[:1]))
    summary = doc[0]
    assert summary.get("class") == "error-summary" and summary.get("tabindex") == "-1"


def test_the_number_sign_keeps_its_number_on_the_line() -> None:
    from forms.typography import NumberSignExtension, bind_number_sign

    assert bind_number_sign("Заявление № 2026-000001, №  5") == "Заявление №\u00a02026-000001, №\u00a05"
    env = Environment(extensions=[NumberSignExtension], autoescape=True)
    assert env.from_string("№ {{ n }}").render(n="7") == "№\u00a07"
    # Schema texts reach pages as values, which the extension does not touch: they bind «№» themselves.
    for path in sorted((TEMPLATES_DIR.parent / "schemas").glob("*.schema.json")):
        texts = json.dumps(json.loads(path.read_text(encoding="utf-8")), ensure_ascii=False)
        assert not re.search(r"№[ \t]", texts), path
