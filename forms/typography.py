"""Russian typography no template should have to remember: «№» never stays alone at the end of a line.

`bind_number_sign` joins «№» to the number after it with a no-break space. `NumberSignExtension`
does it to the text of every template of a Jinja environment when the template is loaded, so a page,
a PDF or a form hint written with an ordinary «№ » still prints «№ 2026-000001» on one line; strings
built in Python (flash messages, schema texts) use `NUMBER_SIGN` themselves.
"""

from __future__ import annotations

import re

from jinja2.ext import Extension

NBSP = "\u00a0"
NUMBER_SIGN = "№" + NBSP
_LOOSE_NUMBER_SIGN = re.compile(r"№[ \t]+")


def bind_number_sign(text: str) -> str:
    """«№ 12» -> «№\u00a012»."""
    return _LOOSE_NUMBER_SIGN.sub(NUMBER_SIGN, text)


class NumberSignExtension(Extension):
    """Binds «№» to its number in a template's source text as the template is loaded."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return bind_number_sign(source)
