"""Error bodies of the registry service, in the same shape as the back office API's errors."""

from __future__ import annotations

from flask import Response, jsonify


def error(status: int, code: str, message: str, detail: str | None = None) -> tuple[Response, int]:
    """`{"error": {"code", "message"[, "detail"]}}` with `status`; `code` is what clients branch on.

    `message` is Russian text for people; `detail` is optional technical text for whoever debugs.
    """
    body = {"code": code, "message": message, **({"detail": detail} if detail else {})}
    return jsonify({"error": body}), status
