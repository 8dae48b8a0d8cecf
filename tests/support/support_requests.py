"""Support requests in tests: a screenshot, filing a request over the API, the support group's answer task."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from tests.support.accounts import bearer
from tests.support.backend import wait_for
from tests.support.product import Product


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def file_request(product: Product, token: str, **fields: Any) -> Any:
    files = fields.pop("files", [])
    data = {**fields, "screenshots": [(io.BytesIO(content), name) for name, content in files]}
    return product.client().post("/api/v1/support-requests", data=data, headers=bearer(token),
                                 content_type="multipart/form-data")


def support_task(product: Product, token: str, number: str, task: str = "support_reply") -> dict[str, Any]:
    """The open answer task of request `number` in the support group's queue."""
    def found() -> dict[str, Any] | None:
        r = product.client().get("/api/v1/tasks", query_string={"queue": "group", "q": number}, headers=bearer(token))
        assert r.status_code == 200, r.get_json()
        return next((t for t in r.get_json()["items"] if t["case_number"] == number and t["task"] == task), None)

    return wait_for(found, timeout=60, interval=0.3, message=f"task {task} of {number}")


def answer(product: Product, token: str, task_id: int, decision: str, text: str) -> None:
    client = product.client()
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=bearer(token)).status_code == 200
    r = client.post(f"/api/v1/tasks/{task_id}/complete", json={"reply_decision": decision, "reply_text": text},
                    headers=bearer(token))
    assert r.status_code == 200, r.get_json()
