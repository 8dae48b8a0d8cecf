"""Cross-field rules declared in a schema's `x-rules` and checked after the JSON Schema keywords.

JSON Schema cannot compare two fields or a field with today's date, so a schema lists such rules
as data, e.g. `{"rule": "min_age_at", "birth_date": "person.birth_date",
"field": "person.passport.issued_on", "years": 14}`. A rule only runs when the fields it reads
are present and passed their own checks: a person sees one precise message per field, never a
date-order complaint about a date that is not a date. A rule may carry its own `message`
(placeholders: {date}, {years}).

Decisions (documented for the product owner):
- the certificate period may be at most `max_years` long (1 year), may not start in the future,
  may not end after 31.12 of the current year, and may not start before 01.01 of the year
  `past_years` (3) back - the window a citizen can still claim a tax deduction for and the depth
  of registry history we ask for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date, timedelta
from typing import Any

from engine.errors import FieldError

from .coverage import PolicyTerm, coverage_gap, period_text
from .dates import add_years, format_ru_date, parse_iso_date
from .identifiers import check_account_key, check_corr_account_key
from .messages import genitive_count
from .schema_walk import Schema, field_schema

_MISSING = object()


class RuleContext:
    """What a rule may read: the data, today, the schema (for labels) and already-failed fields.

    A staff form is filled in the middle of a case, and some rules compare what is typed with what the
    case already holds (the registry's answer, the requested period): `context` is that case data (a
    user task's process variables), read by paths starting with `$` (`$application.period.from`).
    """

    def __init__(self, root: Schema, data: dict[str, Any], today: date, failed: set[str],
                 context: Mapping[str, Any] | None = None) -> None:
        self.root, self.data, self.today, self.failed = root, data, today, failed
        self.context = context or {}

    def value(self, path: str) -> Any:
        node: Any = self.data
        if path.startswith("$"):
            node, path = self.context, path[1:]
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return _MISSING
            node = node[part]
        return node

    def date(self, path: str) -> date | None:
        """The field as a date, or None when absent, invalid or already reported."""
        if path in self.failed:
            return None
        value = self.value(path)
        return parse_iso_date(value) if isinstance(value, str) else None

    def string(self, path: str) -> str | None:
        value = self.value(path)
        return value if isinstance(value, str) and path not in self.failed else None

    def label(self, path: str, fallback: str = "Дата") -> str:
        return field_schema(self.root, path).get("title") or fallback


Rule = Callable[[dict[str, Any], RuleContext], Iterator[FieldError]]


def _message(rule: dict[str, Any], default: str, **values: Any) -> str:
    return rule.get("message", default).format(**values)


def _not_future(rule: dict[str, Any], ctx: RuleContext) -> Iterator[FieldError]:
    for path in rule["fields"]:
        d = ctx.date(path)
        if d is not None and d > ctx.today:
            text = _message(rule, f"{ctx.label(path)} не может быть позже сегодняшнего дня")
            yield FieldError(path, "future_date", text)


def _not_past(rule: dict[str, Any], ctx: RuleContext) -> Iterator[FieldError]:
    """An end date (a power of attorney's «действует до») that has already gone by; today still counts."""
    for path in rule["fields"]:
        d = ctx.date(path)
        if d is not None and d < ctx.today:
            text = _message(rule, f"{ctx.label(path)} не может быть раньше сегодняшнего дня")
            yield FieldError(path, "expired", text)


def _lapsed_term(rule: dict[str, Any], ctx: RuleContext) -> Iterator[FieldError]:
    """A document dated `field` that states no end (`unless` empty) is valid `years` from that date
    (a power of attorney: ГК РФ ст. 186); once that term has gone by it is refused. The last day counts."""
    if ctx.value(rule["unless"]) not in (_MISSING, None, ""):
        return
    path, years = rule["field"], rule["years"]
    issued = ctx.date(path)
    if issued is not None and add_years(issued, years) < ctx.today:
        last = format_ru_date(add_years(issued, years))
        text = _message(rule, f"{ctx.label(path)}: срок истёк {last}", date=last, years=years)
        yield FieldError(path, "expired", text)


def _not_before(rule: dict[str, Any], ctx: RuleContext) -> Iterator[FieldError]:
    path, limit = rule["field"], date.fromisoformat(rule["date"])
    d = ctx.date(path)
    if d is not None and d < limit:
        shown = format_ru_date(limit)
        yield FieldError(path, "too_early", _message(rule, f"{ctx.label(path)} не может быть раньше {shown}",
                                                     date=shown))


def _min_age(rule: dict[str, Any], ctx: RuleContext) -> Iterator[FieldError]:
    """The person born on `field` must be at least `years` old today."""
    path, years = rule["field"], rule["years"]
    born = ctx.date(path)
    if born is not None and born <= ctx.today < add_years(born, years):
        text = _message(rule, f"Возраст должен быть не меньше {genitive_count(years, 'года', 'лет')}",
                        years=years)
        yield FieldError(path, "too_young", text)


def _min_age_at(rule: dict[str, Any], ctx: RuleContext) -> Iterator[FieldError]:
    """`field` (a date in someone's life) may not precede their `years`-th birthday."""
    path, years = rule["field"], rule["years"]
    born, happened = ctx.date(rule["birth_date"]), ctx.date(path)
    if born is None or happened is None:
        return
    birthday = add_years(born, years)
    if happened < birthday:
        shown = format_ru_date(birthday)
        text = _message(rule, f"{ctx.label(path)} не может быть раньше {years}-летия заявителя ({shown})",
                        date=shown, years=years)
        yield FieldError(path, f"before_{years}", text)


def _period(rule: dict[str, Any], ctx: RuleContext) -> Iterator[FieldError]:
    from_path, to_path = rule["from"], rule["to"]
    start, end = ctx.date(from_path), ctx.date(to_path)
    earliest = date(ctx.today.year - rule.get("past_years", 3), 1, 1)
    latest = date(ctx.today.year, 12, 31)
    if start is not None and start < earliest:
        yield FieldError(from_path, "period_too_old",
                         f"Справку можно получить за период не раньше {format_ru_date(earliest)}")
    elif start is not None and start > ctx.today:
        yield FieldError(from_path, "period_future", "Начало периода не может быть позже сегодняшнего дня")
    if end is not None and end > latest:
        yield FieldError(to_path, "period_too_late", f"Конец периода не может быть позже {format_ru_date(latest)}")
    elif start is not None and end is not None:
        max_years = rule.get("max_years", 1)
        if end < start:
            yield FieldError(to_path, "period_order", "Конец периода не может быть раньше его начала")
        elif end >= add_years(start, max_years):
            longest = "одного года" if max_years == 1 else genitive_count(max_years, "года", "лет")
            last = format_ru_date(add_years(start, max_years) - timedelta(days=1))
            yield FieldError(to_path, "period_too_long",
                             f"Период не может быть длиннее {longest}: последний возможный день — {last}")


def _bank_account(rule: dict[str, Any], ctx: RuleContext) -> Iterator[FieldError]:
    """р/с and к/с keyed against the БИК (each only when present and well-formed)."""
    bik = ctx.string(rule["bik"])
    if bik is None:
        return
    for key, check in (("account", check_account_key), ("corr_account", check_corr_account_key)):
        path = rule.get(key)
        value = ctx.string(path) if path else None
        problem = check(bik, value) if value else None
        if problem:
            yield FieldError(path, problem.code, problem.message)


def _applies(rule: dict[str, Any], ctx: RuleContext) -> bool:
    """A rule's optional `when` {field, equals}: it runs only for that choice (e.g. «одобрить»)."""
    when = rule.get("when")
    return when is None or ctx.value(when["field"]) == when["equals"]


def _policy_covers_period(rule: dict[str, Any], ctx: RuleContext) -> Iterator[FieldError]:
    """Issuing a certificate must rest on a policy in force over the whole requested period.

    The policy typed into the form (`policy`, from the fund's answer) is the one printed when given, so
    it must cover the period itself; otherwise the registry's answer (`registry_policy`, a context path)
    must. When neither does, the error goes to the policy block, or to the decision field (`when.field`)
    in a form that has no policy block: approving is then impossible, which the person must see before
    a false certificate could be produced.
    """
    if not _applies(rule, ctx) or rule.get("policy") in ctx.failed:
        return
    if ctx.value(rule["registry_policy"]) is _MISSING:
        return  # a process that never looked a policy up (an organisation's) prints none: nothing to cover
    period = ctx.value(rule["period"])
    start, end = (parse_iso_date(period.get(k) or "") if isinstance(period, dict) else None for k in ("from", "to"))
    if start is None or end is None:
        return
    wanted = period_text(start, end)
    typed = ctx.value(rule["policy"]) if rule.get("policy") else _MISSING
    if isinstance(typed, dict) and typed:
        yield from _typed_policy_gap(rule["policy"], PolicyTerm.of(typed), start, end, wanted, ctx)
        return
    registry = ctx.value(rule["registry_policy"])
    if isinstance(registry, dict) and registry.get("found"):
        term = PolicyTerm.of(registry)
        gap = coverage_gap(term, start, end)
        if gap is None:
            return
        found = f"По данным ЕРЗЛ {term.describe()}, а справка запрошена {wanted}."
    else:
        found = "Полис не найден в ЕРЗЛ."
    if rule.get("policy"):
        yield FieldError(rule["policy"], "policy_required",
                         f"{found} Чтобы выдать справку, внесите сведения о полисе по ответу ТФОМС.")
    else:
        yield FieldError(rule["when"]["field"], "policy_not_covering",
                         f"{found} Выдать справку нельзя: запросите сведения у заявителя или откажите.")


def _typed_policy_gap(path: str, term: PolicyTerm, start: date, end: date, wanted: str,
                      ctx: RuleContext) -> Iterator[FieldError]:
    if {f"{path}.valid_from", f"{path}.valid_to"} & ctx.failed or term.valid_from is None:
        return
    if term.valid_from > start:
        yield FieldError(f"{path}.valid_from", "policy_starts_late",
                         f"Полис должен действовать с начала периода справки ({wanted}), "
                         f"а указано начало {format_ru_date(term.valid_from)}")
    if term.valid_to is not None and term.valid_to < end:
        yield FieldError(f"{path}.valid_to", "policy_ends_early",
                         f"Полис должен действовать до конца периода справки ({wanted}), "
                         f"а указано окончание {format_ru_date(term.valid_to)}")


RULES: dict[str, Rule] = {
    "not_future": _not_future,
    "not_past": _not_past,
    "lapsed_term": _lapsed_term,
    "not_before": _not_before,
    "min_age": _min_age,
    "min_age_at": _min_age_at,
    "period": _period,
    "bank_account": _bank_account,
    "policy_covers_period": _policy_covers_period,
}


def run_rules(root: Schema, data: dict[str, Any], today: date, failed: set[str],
              context: Mapping[str, Any] | None = None) -> list[FieldError]:
    """Errors from every rule in the schema's `x-rules`; an unknown rule name is a schema bug."""
    ctx = RuleContext(root, data, today, set(failed), context)
    errors: list[FieldError] = []
    for rule in root.get("x-rules") or ():
        found = list(RULES[rule["rule"]](rule, ctx))
        ctx.failed.update(e.field for e in found)
        errors.extend(found)
    return errors
