"""Terms as people read them: every duration a page, a notice, a document or a refusal message states.

Each comes from the SLA catalogue (``workflows/sla.toml``, overridable with ``BACKOFFICE_SLA``) through
:func:`sla_term`, the same catalogue the diagrams' timers use, so the text changes together with the
timer and never promises «30 дней» while the process waits for another term.
"""

from __future__ import annotations

from engine.context import sla_catalogue
from engine.sla import SlaDuration, SlaRegistry

# (genitive singular, genitive plural): a term always follows «в течение», and in the genitive a
# numeral takes the singular only when it ends in 1 (not 11): «1 рабочего дня», «2 рабочих дней»,
# «21 часа», «24 часов». Two forms and one rule: a morphology library would be a dependency for this alone.
_BUSINESS_DAY = ("рабочего дня", "рабочих дней")
_DAY = ("дня", "дней")
_HOUR = ("часа", "часов")
_MINUTE = ("минуты", "минут")
_SECOND = ("секунды", "секунд")
_DAY_SECONDS = 86400


def sla_term(name: str, catalogue: SlaRegistry | None = None) -> str:
    """The SLA ``name`` as it reads after «в течение»: «10 рабочих дней», «30 дней», «24 часов».

    ``catalogue`` defaults to the one the timers of this process use.
    """
    return _text((catalogue or sla_catalogue()).get(name))


def _text(duration: SlaDuration) -> str:
    """One duration after «в течение»; whole days from three days up, else hours, minutes or seconds."""
    if duration.business_days is not None:
        return _count(duration.business_days, _BUSINESS_DAY)
    assert duration.delta is not None
    seconds = int(duration.delta.total_seconds())
    if seconds >= 3 * _DAY_SECONDS and seconds % _DAY_SECONDS == 0:
        return _count(seconds // _DAY_SECONDS, _DAY)
    for size, forms in ((3600, _HOUR), (60, _MINUTE)):
        if seconds >= size and seconds % size == 0:
            return _count(seconds // size, forms)
    return _count(seconds, _SECOND)


def _count(n: int, forms: tuple[str, str]) -> str:
    singular, plural = forms
    return f"{n} {singular if n % 10 == 1 and n % 100 != 11 else plural}"
