"""In Chromium: the phone-width check measures a page laid out with its stylesheet.

A locator finds elements as soon as they are parsed; a check run then, while the stylesheet was still on
its way, once failed a page that fits (a select as wide as its longest option).
"""

from __future__ import annotations

import time

from flask import Flask, Response

from tests.support.browser import PHONE, chromium, fits_the_screen, served_app

_PAGE = """<!doctype html><html lang="ru"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/late.css"></head>
<body><label for="s">Процесс</label><select id="s"><option>{option}</option></select>
<p id="parsed">разобрано</p><script src="/tail.js"></script></body></html>"""
_CSS = "select { display: block; width: 100%; box-sizing: border-box; }"
_CSS_DELAY_S = 1.5


def _slow_stylesheet() -> Flask:
    """The page at once, its stylesheet late: what a loaded server's revalidation looks like to a browser."""
    app = Flask(__name__)
    app.add_url_rule("/", "page", lambda: _PAGE.format(option="Очень длинное название процесса " * 6))
    app.add_url_rule("/tail.js", "tail", lambda: Response("", mimetype="text/javascript"))

    def late_css() -> Response:
        time.sleep(_CSS_DELAY_S)
        return Response(_CSS, mimetype="text/css")

    app.add_url_rule("/late.css", "css", late_css)
    return app


def test_the_check_waits_for_the_stylesheet_of_a_page_whose_elements_are_already_there() -> None:
    with served_app(_slow_stylesheet()) as base, chromium() as browser:
        page = browser.new_context(viewport=PHONE).new_page()
        page.goto(f"{base}/", wait_until="commit")
        page.locator("#parsed").wait_for()
        unstyled = page.evaluate("() => getComputedStyle(document.getElementById('s')).display")
        assert unstyled == "inline-block", "the stylesheet came before the check: the test shows nothing"
        assert fits_the_screen(page)
        page.context.close()
