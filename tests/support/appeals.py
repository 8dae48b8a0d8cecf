"""A refused case appealed over the API, for tests that need an appeal task in an inbox."""

from __future__ import annotations

from typing import Any

from tests.support.accounts import bearer
from tests.support.backend import wait_for
from tests.support.product import Product


def appealed_case(product: Product, grounds: str = "Паспорт не утерян, заявление подано по ошибке.",
                  token: str | None = None) -> tuple[str, str]:
    """(citizen token, case number) of a case refused for a lost passport whose refusal is appealed."""
    token = token or product.citizen_token()
    number = product.apply(token, "passport_lost")["number"]
    product.wait_status(token, number, "rejected")
    wait_for(lambda: "appeal" in product.case(token, number)["actions"], timeout=60, interval=0.3,
             message=f"{number} to offer an appeal")  # after the refusal's decision and notice are out
    r = post_case(product, token, number, "appeal", {"grounds": grounds})
    assert r.status_code == 201, r.get_json()
    return token, number


def post_case(product: Product, token: str, number: str, action: str, body: dict[str, Any]) -> Any:
    """POST /api/v1/applications/{number}/{action} as the citizen."""
    return product.client().post(f"/api/v1/applications/{number}/{action}", json=body, headers=bearer(token))
