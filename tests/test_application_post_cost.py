"""What one citizen's application costs the web process: few SQL statements, one commit, nothing compiled.

Counted on the app's own engine (the one the request session and the runtime share) with SQLAlchemy's
events, for the calling thread only, on a warmed app: the second application of the same citizen,
so one-time caches (process versions, lane roles, specs, schemas and their validators) do not count.
"""

from __future__ import annotations

from forms.validation import _named_validator, load_schema
from tests.support.accounts import bearer
from tests.support.product import Product
from tests.support.queries import sql_log
from web.extensions import db

MAX_STATEMENTS = 8


def test_an_application_takes_few_statements_and_one_commit(product: Product) -> None:
    token = product.citizen_token()
    product.apply(token, "valid", index=0)  # warms the process version, specs and lane roles of this app
    with product.app.app_context():
        engine = db.engine
    client = product.client()
    compiled = (load_schema.cache_info().misses, _named_validator.cache_info().misses)
    with sql_log(engine) as log:
        r = client.post("/api/v1/applications", json=product.application_body("valid", 1), headers=bearer(token))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["status"] in ("submitted", "in_progress")
    assert (load_schema.cache_info().misses, _named_validator.cache_info().misses) == compiled, \
        "a warmed POST parsed a schema or built a validator again"
    assert log.commits == 1, log.report()
    assert len(log.statements) <= MAX_STATEMENTS, log.report()



def test_the_post_answers_the_case_as_a_read_of_it_shows_it(product: Product) -> None:
    """The POST's answer is built from what its transaction wrote, not read back: it must be the view a GET
    gives of the same case (the worker is paused meanwhile, so nothing moves the case in between)."""
    token = product.citizen_token()
    product.pause()
    try:
        created = product.apply(token, "valid", index=2)
        read = product.case(token, created["number"])
    finally:
        product.resume()
    assert read.pop("channel") == "portal"  # the GET's own addition: who filed it
    assert created == read
    assert created["journal"] and {e["event"] for e in created["journal"]} == {"status_changed"}
