"""Account enumeration by timing: do taken and free addresses take the same time to answer?

    python benchmarks/enumeration.py [--samples 30] [--embedded] [--json]

The app runs in-process (Flask's test client, no HTTP) on a fresh PostgreSQL database + Redis db 14
(or SQLite + embedded Redis with `--embedded`), with mail going over SMTP to an aiosmtpd sink in this
process, so each letter costs its real smtplib round trip. Rate limits are off. For each action the
two kinds of address alternate, `--samples` times each, and the medians and p90s are printed side by
side with their ratio:

* `POST /api/v1/auth/register`: a new address (a code is mailed) vs. an active account's address
  (the owner gets «Попытка повторной регистрации»);
* `POST /api/v1/auth/password-reset`: an active account (a code is mailed) vs. an unknown address
  (a note that there is no account); both run the same statements (web/accounts/service.py), which
  took the ratio from 1.25 to about 1.07;
* `POST /api/v1/auth/activate` with a wrong code: an active account vs. an unknown address.

The answers are the same by construction (tests/test_accounts.py, tests/test_password_reset.py);
this measures what a stopwatch could tell. A ratio near 1.0 is the goal.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)  # benchmarks/engine.py would shadow the product's `engine` package

import argparse  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks._support import (  # noqa: E402
    add_backend_arguments,
    backend_from_args,
    check_backend_arguments,
    fmt,
    install_signal_cleanup,
    median,
    percentile,
    print_table,
    run_benchmark,
)

PASSWORD = "Верный-пароль-2024"  # noqa: S105 - the benchmark's own accounts


def _person(email: str) -> dict[str, str]:
    return {"email": email, "password": PASSWORD, "phone": "+79991234567", "last_name": "Иванова",
            "first_name": "Мария", "birth_date": "1985-03-05"}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tasks.config import AppConfig
    from tests.support.smtp import SmtpServer
    from web.app import create_app

    with backend_from_args(args, "enumeration") as backend:
        backend.cli("db", "upgrade")
        smtp = SmtpServer().start()
        backend.on_close(smtp.stop)
        env = backend.env(SMTP_URL=smtp.url, RATE_LIMITS="off")
        app = create_app(AppConfig.from_env(env))
        client = app.test_client()
        taken = _active_accounts(app, args.samples)

        def fresh() -> str:
            return f"bench-{uuid.uuid4().hex[:12]}@example.ru"

        actions: dict[str, tuple[Callable[[str], Any], Callable[[int], str], Callable[[int], str]]] = {
            "register": (lambda e: client.post("/api/v1/auth/register", json=_person(e)),
                         lambda i: fresh(), lambda i: taken[i]),
            "password-reset": (lambda e: client.post("/api/v1/auth/password-reset", json={"email": e}),
                               lambda i: taken[i], lambda i: fresh()),
            "activate (wrong code)": (lambda e: client.post("/api/v1/auth/activate",
                                                            json={"email": e, "code": "000000"}),
                                      lambda i: taken[i], lambda i: fresh()),
        }
        labels = {"register": ("new address", "taken address"), "password-reset": ("account", "no account"),
                  "activate (wrong code)": ("active account", "unknown address")}
        results = {}
        for name, (call, first, second) in actions.items():
            call(fresh())  # warm-up: templates, the hash parameters, the SMTP connection
            times: tuple[list[float], list[float]] = ([], [])
            for i in range(args.samples):
                for kind, address in enumerate((first(i), second(i))):
                    started = time.perf_counter()
                    call(address)
                    times[kind].append((time.perf_counter() - started) * 1000)
            results[name] = {labels[name][k]: {"median_ms": median(t), "p90_ms": percentile(t, 90)}
                             for k, t in enumerate(times)}
        return {"benchmark": "enumeration", "samples": args.samples, "backend": backend.describe(),
                "results": results}


def _active_accounts(app: Any, count: int) -> list[str]:
    from tasks.accounts.service import AccountService
    from web.extensions import db

    emails = []
    with app.app_context():
        service = AccountService(db.session, app.config["SECRET_KEY"])
        for _ in range(count):
            user, _ = service.create_user(f"bench-active-{uuid.uuid4().hex[:10]}@example.ru", "citizen", PASSWORD)
            emails.append(user.email)
    return emails


def print_report(report: dict[str, Any]) -> None:
    rows = [("action", "address", "median ms", "p90 ms", "ratio of medians")]
    for name, kinds in report["results"].items():
        (a, fa), (b, fb) = kinds.items()
        ratio = fa["median_ms"] / fb["median_ms"] if fb["median_ms"] else None
        rows.append((name, a, fmt(fa["median_ms"]), fmt(fa["p90_ms"]), fmt(ratio, 2)))
        rows.append(("", b, fmt(fb["median_ms"]), fmt(fb["p90_ms"]), ""))
    print_table(f"Enumeration by timing ({report['samples']} samples each, {report['backend'].get('kind')})", rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=30)
    add_backend_arguments(p)
    args = p.parse_args()
    check_backend_arguments(p, args)
    install_signal_cleanup()
    return run_benchmark(args, run, print_report)


if __name__ == "__main__":
    sys.exit(main())
