"""Role codes (fixed by the API) and their Russian names for pages."""

from __future__ import annotations

CITIZEN = "citizen"
OPERATOR = "operator"
APPEALS = "appeals"
SUPPORT = "support"
SUPERVISOR = "supervisor"
ANALYST = "analyst"
ADMIN = "admin"

ROLE_LABELS: dict[str, str] = {
    CITIZEN: "Заявитель",
    OPERATOR: "Оператор",
    APPEALS: "Специалист по обжалованию",
    SUPPORT: "Специалист службы поддержки",
    SUPERVISOR: "Руководитель",
    ANALYST: "Аналитик процессов",
    ADMIN: "Администратор",
}
ROLES: tuple[str, ...] = tuple(ROLE_LABELS)
STAFF_ROLES: tuple[str, ...] = tuple(r for r in ROLES if r != CITIZEN)
# Staff who work on cases and so may read their personal data (analysts edit diagrams, not cases). Support
# specialists answer questions about cases and file applications on a citizen's call, so they read cases too.
CASE_WORKERS: tuple[str, ...] = (OPERATOR, APPEALS, SUPPORT, SUPERVISOR, ADMIN)
# Who answers support requests and reads every one of them.
SUPPORT_STAFF: tuple[str, ...] = (SUPPORT, SUPERVISOR, ADMIN)
