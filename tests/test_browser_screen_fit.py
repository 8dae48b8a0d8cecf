"""In Chromium: the phone-width check measures a page laid out with its stylesheet.

A locator finds elements as soon as they are parsed; a check run then, while the stylesheet was still on
its way, once failed a page that fits (a select as wide as its longest option).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.browser import PHONE, chromium, fits_the_screen

_PAGE = """<!doctype html><html lang="ru"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/late.css"></head>
<body><label for="s">Процесс</label><select id="s"><option>{option}</option></select>
<p id="parsed">разобрано</p><script src="/tail.js"></script></body></html>"""
_CSS = b"select { display: block; width: 100%; box-sizing: border-box; }"
_CSS_DELAY_S = 1.5


class _SlowStylesheet(BaseHTTPRequestHandler):
    """The page at once, its stylesheet late: what a loaded server's revalidation looks like to a browser."""

    def do_GET(self) -> None:
        if self.path == "/late.css":
            time.sleep(_CSS_DELAY_S)
            body, kind = _CSS, "text/css"
        elif self.path == "/tail.js":
            body, kind = b"", "text/javascript"
        else:
            body, kind = _PAGE.format(option="Очень длинное название процесса " * 6).encode(), "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet: the test's output is its assertions."""


@contextmanager
def _served() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowStylesheet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_check_waits_for_the_stylesheet_of_a_page_whose_elements_are_already_there() -> None:
    with _served() as base, chromium() as browser:
        page = browser.new_context(viewport=PHONE).new_page()
        page.goto(f"{base}/", wait_until="commit")
        page.locator("#parsed").wait_for()
        unstyled = page.evaluate("() => getComputedStyle(document.getElementById('s')).display")
        assert unstyled == "inline-block", "the stylesheet came before the check: the test shows nothing"
        assert fits_the_screen(page)
        page.context.close()
