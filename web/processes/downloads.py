"""A diagram file as a download, for the studio's pages and API alike."""

from __future__ import annotations

from flask import Response


def attachment(text: str, name: str) -> Response:
    """A diagram as a file download, to open in a desktop modeler (a version's or a draft's file)."""
    response = Response(text, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
