"""Russian messages and stable English codes for JSON Schema keyword failures.

A schema field may override any message with `"x-messages": {"<keyword>": "..."}`; identifier
formats bring their own precise message (forms.identifiers); everything else falls back to the
defaults here. Codes are part of the API (`fields[].code`) and never change with the wording.
"""

from __future__ import annotations

from typing import Any

# keyword -> stable code in API answers
CODES: dict[str, str] = {
    "required": "required",
    "type": "type",
    "minLength": "too_short",
    "maxLength": "too_long",
    "pattern": "format",
    "format": "format",
    "enum": "enum",
    "const": "invalid",
    "minItems": "too_few",
    "maxItems": "too_many",
    "uniqueItems": "duplicate",
    "additionalProperties": "unknown_field",
    "minimum": "too_small",
    "maximum": "too_large",
    "exclusiveMinimum": "too_small",
    "exclusiveMaximum": "too_large",
}

REQUIRED = "Заполните поле"
DATE_FORMAT_PAGE = "Введите дату в формате ДД.ММ.ГГГГ"
MONTH_FORMAT_PAGE = "Введите месяц в формате ММ.ГГГГ"

_TYPE_NAMES = {
    "string": "строка",
    "boolean": "true или false",
    "object": "объект",
    "array": "список",
    "integer": "целое число",
    "number": "число",
    "null": "null",
}


def genitive_count(n: int, one: str, many: str) -> str:
    """«1 символа», «5 символов», «21 символа»: the genitive after «не менее / не более»."""
    word = one if n % 10 == 1 and n % 100 != 11 else many
    return f"{n} {word}"


def default_message(keyword: str, value: Any) -> str:
    """Message for a failed keyword whose schema value is `value` (e.g. maxLength -> 60)."""
    match keyword:
        case "required":
            return REQUIRED
        case "minLength":
            return f"Введите не менее {genitive_count(value, 'символа', 'символов')}"
        case "maxLength":
            return f"Введите не более {genitive_count(value, 'символа', 'символов')}"
        case "type":
            names = [value] if isinstance(value, str) else list(value)
            return "Неверный тип значения: ожидается " + " или ".join(_TYPE_NAMES.get(n, n) for n in names)
        case "enum":
            return "Выберите значение из списка"
        case "const":
            return "Недопустимое значение"
        case "pattern" | "format":
            return "Значение введено в неверном формате"
        case "minItems":
            if value == 1:
                return "Выберите хотя бы один вариант"
            return f"Выберите не менее {genitive_count(value, 'варианта', 'вариантов')}"
        case "maxItems":
            return f"Не более {genitive_count(value, 'элемента', 'элементов')}"
        case "uniqueItems":
            return "Значения в списке не должны повторяться"
        case "minimum" | "exclusiveMinimum":
            return f"Введите число не меньше {value}" if keyword == "minimum" else f"Введите число больше {value}"
        case "maximum" | "exclusiveMaximum":
            return f"Введите число не больше {value}" if keyword == "maximum" else f"Введите число меньше {value}"
    return "Неверное значение"


def unknown_field(name: str) -> str:
    return f"Неизвестное поле «{name}»"
