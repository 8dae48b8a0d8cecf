"""The header menu and the landing page of each role, from one table.

Every role sees exactly the pages it may open and lands on its own work: a citizen on the portal's
home page, case workers on their tasks, managers on the dashboard, analysts on the deployed
processes. Visitors who are not signed in get the portal's public entries (an entry that needs a
login sends them to it with a word why, see `web.security`). A test walks every role's menu and
opens each entry, so an entry a role may not open fails it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request, url_for

from tasks.accounts.roles import ADMIN, ANALYST, APPEALS, CITIZEN, OPERATOR, SUPERVISOR, SUPPORT

from .services import app_config


@dataclass(frozen=True)
class MenuEntry:
    endpoint: str
    label: str
    # Blueprints whose pages belong to this entry (marked current there too): a case page is part of «Мои заявки».
    section: tuple[str, ...] = ()
    counter: str | None = None  # a badge count base.html knows how to get («unread_notifications»)


APPLY = MenuEntry("apply.start", "Подать заявление", section=("apply",))
# The cabinet's support requests («Обращения»), doctor's appointments and the data tracker belong to
# «Мои заявки»: one more header entry would not fit the line.
MY_CASES = MenuEntry("cases.applications", "Мои заявки",
                     section=("cases", "refusal", "employees", "org_access", "support", "tracker",
                              "appointments"))
ORGANIZATIONS = MenuEntry("org_apply.form", "Для организаций", section=("org_apply",))
NOTIFICATIONS = MenuEntry("notifications.index", "Уведомления", section=("notifications",),
                          counter="unread_notifications")
FAQ = MenuEntry("faq.index", "Вопросы и ответы", section=("faq",))
HOTLINE = MenuEntry("hotline.form", "Заявление по звонку", section=("hotline",))
POLICY_CHECK = MenuEntry("public.policy_check", "Проверить полис")
VERIFY = MenuEntry("public.verify_form", "Проверить справку")
TASKS = MenuEntry("inbox.index", "Задачи", section=("inbox", "staff_audit"))
DASHBOARD = MenuEntry("dashboard.page", "Панель руководителя")
PROCESSES = MenuEntry("processes.index", "Процессы")
ANALYTICS = MenuEntry("analytics.index", "Аналитика", section=("analytics",))
INCIDENTS = MenuEntry("operations.incidents", "Инциденты")
TIMERS = MenuEntry("operations.timers", "Таймеры")
MIGRATIONS = MenuEntry("migrations.index", "Перенос дел", section=("migrations",))
ENROLMENT_LINKS = MenuEntry("enrolment_links.issue", "Аутентификаторы", section=("enrolment_links",))
# Running the service is one header entry with its pages as tabs: seven entries do not fit one line.
OPERATIONS = MenuEntry("operations.incidents", "Эксплуатация", section=("operations", "migrations", "enrolment_links"))

ANONYMOUS = None
# The first entry of a staff role's menu is where that role lands after login and on «/».
MENUS: dict[str | None, tuple[MenuEntry, ...]] = {
    ANONYMOUS: (APPLY, ORGANIZATIONS, POLICY_CHECK, VERIFY, FAQ),
    CITIZEN: (MY_CASES, APPLY, ORGANIZATIONS, NOTIFICATIONS, POLICY_CHECK),
    OPERATOR: (TASKS, VERIFY),
    APPEALS: (TASKS, VERIFY),
    # Support specialists answer requests in the inbox and file applications for citizens on a call.
    SUPPORT: (TASKS, HOTLINE, FAQ),
    # Supervisors watch the whole service (deadlines, workload) and act on tasks from there: dashboard first.
    SUPERVISOR: (DASHBOARD, TASKS, OPERATIONS, ANALYTICS, VERIFY),
    # Administrators run everything but verify no certificates: the public check stays one address away.
    ADMIN: (DASHBOARD, TASKS, PROCESSES, OPERATIONS, ANALYTICS),
    ANALYST: (PROCESSES, MIGRATIONS, ANALYTICS, VERIFY),
}
# The tabs of «Эксплуатация» (analysts reach only the migrations' dry run, from their own menu entry).
OPERATIONS_TABS: dict[str, tuple[MenuEntry, ...]] = {
    SUPERVISOR: (INCIDENTS, TIMERS, MIGRATIONS),
    ADMIN: (INCIDENTS, TIMERS, MIGRATIONS, ENROLMENT_LINKS),
}
# A role missing from MENUS (one added to roles.py before it has pages) still gets the public entries.
FALLBACK_MENU: tuple[MenuEntry, ...] = (POLICY_CHECK, VERIFY)


def menu_for(role: str | None) -> tuple[MenuEntry, ...]:
    """The header menu of `role` (None: a visitor who is not signed in)."""
    return MENUS.get(role, FALLBACK_MENU)


def operations_tabs(role: str | None) -> tuple[MenuEntry, ...]:
    return OPERATIONS_TABS.get(role or "", ())


def home_endpoint(role: str) -> str:
    """Where `role` lands after login and when it opens «/»: the portal's home for citizens."""
    if role == CITIZEN:
        return "public.home"
    entries = MENUS.get(role)
    return entries[0].endpoint if entries else "public.home"


def home_url(role: str) -> str:
    return url_for(home_endpoint(role))


_STAFF_ONLY = ("Эта страница для сотрудников. Войдите со своей учётной записью: после пароля понадобится код "
               "из приложения-аутентификатора.")
# Why the login page is shown to someone who opened a page that needs it, by the page's blueprint.
LOGIN_REASONS: dict[str, str] = {
    "apply": "Чтобы подать заявление, войдите в свою учётную запись или зарегистрируйтесь. "
             "После входа вы вернётесь к заявлению.",
    "org_apply": "Чтобы подать заявление от организации, войдите в свою учётную запись или зарегистрируйтесь. "
                 "После входа вы вернётесь к заявлению.",
    "cases": "Чтобы открыть свои заявления, войдите в учётную запись.",
    "refusal": "Чтобы открыть свои заявления, войдите в учётную запись.",
    "employees": "Чтобы открыть заявление организации, войдите в учётную запись.",
    "org_access": "Чтобы открыть заявления организации, войдите в учётную запись.",
    "notifications": "Чтобы посмотреть уведомления, войдите в учётную запись.",
    "support": "Чтобы написать в службу поддержки или прочитать ответ, войдите в учётную запись.",
    "appointments": "Чтобы записаться к врачу или открыть свои записи, войдите в учётную запись.",
    "hotline": _STAFF_ONLY,
    "account": "Чтобы открыть профиль, войдите в учётную запись.",
    "my_policy": "Чтобы посмотреть свой полис ОМС, войдите в учётную запись.",
    "legal": "Чтобы принять новые редакции документов, войдите в учётную запись.",
    "inbox": _STAFF_ONLY,
    "dashboard": _STAFF_ONLY,
    "staff_audit": _STAFF_ONLY,
    "processes": _STAFF_ONLY,
    "operations": _STAFF_ONLY,
    "migrations": _STAFF_ONLY,
    "enrolment_links": _STAFF_ONLY,
}
DEFAULT_LOGIN_REASON = "Чтобы открыть эту страницу, войдите в учётную запись."


def login_reason() -> str:
    """The sentence the login page shows to a visitor sent there from the page of this request."""
    return LOGIN_REASONS.get(request.blueprint or "", DEFAULT_LOGIN_REASON)


def is_current(entry: MenuEntry) -> bool:
    """Whether this request shows the entry's page, or a page of its section."""
    endpoint = request.endpoint or ""
    return endpoint == entry.endpoint or request.blueprint in entry.section


def init_app(app: Flask) -> None:
    """`main_menu(role)`, `menu_is_current(entry)`, `operations_tabs(role)` and `support` (the contacts)
    for the templates."""
    app.add_template_global(menu_for, "main_menu")
    app.add_template_global(is_current, "menu_is_current")
    app.add_template_global(operations_tabs, "operations_tabs")
    app.add_template_global(app_config(app), "support")
