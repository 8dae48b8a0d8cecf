"""The maintained part of the OpenAPI document: what each /api/v1 endpoint is for, what it takes and gives.

Keyed by the Flask endpoint name, so paths, methods and roles come from the route table and the views'
access declarations (web.security); only the words and the bodies are written here. A route without an
entry here, or an entry without a route, fails the document's build and its test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tasks.inbox.filters import SLA_STATES, SORTS, STATUSES
from tasks.studio.impact import MAX_LIMIT

from ..operations.actions import AGE_LABELS
from .components import ref

JSON = "application/json"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class Op:
    """One operation: Russian summary, tag, request body, success answer, query parameters, extra statuses.

    `body_required=False` marks a body the view also accepts absent (its fields all have defaults).
    """

    summary: str
    tag: str
    body: dict[str, Any] | None = None
    body_type: str = JSON
    status: int = 200
    answer: dict[str, Any] | None = field(default_factory=lambda: ref("Object"))
    answer_types: tuple[str, ...] = (JSON,)
    query: tuple[tuple[str, dict[str, Any], str], ...] = ()
    extra: tuple[int, ...] = ()
    description: str = ""
    body_required: bool = True


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


STRING = {"type": "string"}
INT = {"type": "integer"}
PAGE = (("limit", {"type": "integer", "minimum": 1}, "Размер страницы"),
        ("offset", {"type": "integer", "minimum": 0}, "Смещение"))
ITEMS = obj(items={"type": "array", "items": ref("Object")}, total=INT)
BINARY = {"type": "string", "format": "binary"}
IDS = obj(ids={"type": "array", "items": INT}, reason=STRING)
NULLABLE = {"type": ["string", "null"]}
DATE = {"type": "string", "format": "date"}
DRAFT = ref("Object")
ACCOUNT_STATUS = obj(email=STRING, status=STRING, message=STRING)
LEGAL_DOCUMENTS = {"type": "array", "items": obj(document=STRING, title=STRING, version=STRING,
                                                   effective={"type": "string", "format": "date"}, field=STRING,
                                                   sha256=STRING, url=STRING)}
MEDICAL_ORGANIZATION = obj(
    ogrn=STRING, inn=STRING, name=STRING, short_name=STRING, address=STRING, legal_address=NULLABLE, phone=STRING,
    email=STRING, region=NULLABLE, programs={"type": "array", "items": STRING},
    specialties={"type": "array", "items": STRING}, accredited={"type": "boolean"},
    license_valid_to={"type": ["string", "null"], "format": "date"}, license_expired={"type": "boolean"})
SCREENSHOTS = ("JSON или multipart/form-data: те же поля и до пяти файлов `screenshots` (PDF, JPEG, PNG); "
               "слишком большой файл — 413, не того типа — 415, нет места в хранилище — 507 `storage_full` "
               "(ничего не сохранено, повторите позже).")
STORED = (507,)  # the upload is stored on the service's disk: a full disk answers 507 storage_full

AUTH, CASES, FILES, STAFF, OPS, STUDIO, CITIZEN, PUBLIC = (
    "Вход и учётная запись", "Заявления", "Файлы и документы", "Входящие задачи сотрудников",
    "Эксплуатация", "Процессы (студия)", "Личный кабинет", "Публичные сервисы")

OPERATIONS: dict[str, Op] = {
    # ------------------------------------------------------------------ accounts
    "auth_api.register": Op("Регистрация: код подтверждения уходит на e-mail", AUTH, ref("Registration"),
                            status=201, extra=(503,)),
    "auth_api.activate": Op("Активация учётной записи кодом из письма", AUTH, obj(email=STRING, code=STRING)),
    "auth_api.resend_code": Op("Новый код активации (ответ одинаков для любого адреса)", AUTH, obj(email=STRING),
                               status=202, extra=(503,)),
    "auth_api.token": Op("Токен доступа (сотрудникам нужен otp)", AUTH,
                         obj(email=STRING, password=STRING, otp=STRING), extra=(401,),
                         answer=obj(token=STRING, expires_at={"type": "string", "format": "date-time"})),
    "auth_api.password_reset": Op("Сброс пароля: код уходит на e-mail (ответ одинаков для любого адреса)", AUTH,
                                  obj(email=STRING), status=202, answer=ACCOUNT_STATUS, extra=(503,)),
    "auth_api.password_reset_confirm": Op("Новый пароль по коду из письма; все сеансы и токены завершаются",
                                          AUTH, obj(email=STRING, code=STRING, password=STRING),
                                          answer=obj(email=STRING, status=STRING)),
    "auth_api.revoke_token": Op("Отзыв токена, которым подписан запрос", AUTH, status=204, answer=None),
    "auth_api.me": Op("Профиль текущего пользователя", AUTH,
                      answer=obj(id=INT, email=STRING, role=ref("Role"), role_label=STRING)),
    "legal_api.documents": Op("Действующие редакции пользовательского соглашения и согласия", AUTH,
                              answer=obj(documents=LEGAL_DOCUMENTS)),
    "legal_api.acceptances": Op("Принять новые редакции документов", AUTH, ref("LegalAcceptance"),
                                answer=obj(accepted=LEGAL_DOCUMENTS, pending=LEGAL_DOCUMENTS)),
    # ------------------------------------------------------------------ applications
    "cases_api.create_application": Op("Подать заявление (гражданин или организация)", CASES,
                                       ref("ApplicationRequest"), status=201, answer=ref("Application")),
    "cases_api.applications": Op("Список заявлений: свои (гражданин) или все с фильтрами (сотрудники)", CASES,
                                 query=(("q", STRING, "Поиск"), ("status", ref("CaseStatus"), "Статус"), *PAGE),
                                 answer=obj(items={"type": "array", "items": ref("Object")}, total=INT)),
    "cases_api.application": Op("Заявление: статус, причины отказа, документы, история, действия", CASES,
                                answer=ref("Application")),
    "cases_api.resubmit_application": Op("Подать повторно после отказа или запроса уточнений", CASES,
                                         ref("Resubmission"), answer=ref("Application")),
    "cases_api.appeal": Op("Обжаловать отказ", CASES, ref("Appeal"), status=201,
                           answer=obj(appeal_number=STRING, due_date={"type": "string", "format": "date"})),
    "cases_api.answer": Op("Ответ на запрос сведений по жалобе", CASES, ref("AppealAnswer"),
                           answer=ref("Application")),
    "staff_audit.api": Op("Полный журнал заявления для сотрудников", CASES, answer=ITEMS),
    "case_diagram.api": Op("Схема процесса заявления с пройденным путём", CASES),
    "cases_api.upload_document": Op("Загрузить документ к заявлению", FILES, ref("Upload"), MULTIPART,
                                    status=201, answer=ref("Document"), extra=STORED),
    "cases_api.download_document": Op("Скачать загруженный документ", FILES, answer=BINARY,
                                      answer_types=(PDF, "image/jpeg", "image/png"), extra=(410,)),
    "cases_api.certificate_pdf": Op("Справка (PDF), когда готова; иначе 409", FILES, answer=BINARY,
                                    answer_types=(PDF,)),
    "cases_api.receipt": Op("Расписка о приёме заявления (PDF)", FILES, answer=BINARY, answer_types=(PDF,)),
    "cases_api.decision_pdf": Op("Решение об отказе (PDF)", FILES, answer=BINARY, answer_types=(PDF,)),
    "organizations_api.upload_document": Op("Загрузить документ до подачи заявления (доверенность)", FILES,
                                            ref("Upload"), MULTIPART, status=201, answer=ref("Document"),
                                            extra=STORED),
    "organizations_api.delete_document": Op("Удалить загрузку, не привязанную к заявлению", FILES,
                                            status=204, answer=None),
    # ------------------------------------------------------------------ organisations
    "employees_api.upload": Op("Список сотрудников (CSV или XLSX); заменяет прежний", CASES, ref("FileUpload"),
                               MULTIPART, extra=STORED),
    "employees_api.employee_list": Op("Состояние списка сотрудников: счётчики, ошибки, результаты ЕРЗЛ", CASES),
    "employees_api.rows": Op("Строки списка сотрудников", CASES, answer=ITEMS,
                             query=(("result", STRING, "Отбор по результату, например not_insured"), *PAGE)),
    "employees_api.report": Op("Список сотрудников с отмеченными ошибками (XLSX)", FILES, answer=BINARY,
                               answer_types=(XLSX,)),
    "employees_api.template": Op("Шаблон списка сотрудников", FILES, answer=BINARY, answer_types=(XLSX, "text/csv")),
    "employees_api.register": Op("Реестр застрахованных сотрудников (PDF или XLSX)", FILES, answer=BINARY,
                                 answer_types=(PDF, XLSX)),
    "organizations_api.list_grants": Op("Кому открыт доступ к заявлению организации", CASES, answer=ITEMS),
    "organizations_api.add_grant": Op("Открыть коллеге доступ на чтение", CASES,
                                      obj(email=STRING, scope={"enum": ["case", "organization"]},
                                          expires_at={"type": "string", "format": "date"}), status=201),
    "organizations_api.delete_grant": Op("Закрыть доступ", CASES, status=204, answer=None),
    "organizations_api.shared_applications": Op("Заявления, которыми поделились коллеги", CASES, answer=ITEMS),
    # ------------------------------------------------------------------ public
    "cases_api.verify": Op("Проверка подлинности справки по номеру и коду", PUBLIC,
                           query=(("code", STRING, "Код проверки с QR-кода"),),
                           answer=obj(valid={"type": "boolean"}, status=STRING)),
    "cases_api.policy_check": Op("Проверка полиса ОМС по ЕНП и дате рождения", PUBLIC, ref("PolicyCheck"),
                                 answer=obj(status=STRING), extra=(503,)),
    "directory_api.index": Op(
        "Справочник медицинских организаций: поиск и фильтры", PUBLIC,
        query=(("q", STRING, "Название (опечатки и ё/е не мешают), ИНН или ОГРН"),
               ("region", STRING, "Регион, как в справочнике"), ("program", STRING, "Программа ОМС"),
               ("specialty", STRING, "Специальность"), ("page", {"type": "integer", "minimum": 1}, "Страница")),
        answer=obj(items={"type": "array", "items": MEDICAL_ORGANIZATION}, total=INT,
                   total_exact={"type": "boolean"}, page=INT, pages=INT, per_page=INT, refreshed_at=NULLABLE),
        description="Страница — 20 организаций. Поиск по названию считает совпадения до 1000 (`total_exact`: "
                    "false — их больше). `refreshed_at` — когда справочник последний раз обновлён из реестра "
                    "(при недоступности реестра показывается последняя копия)."),
    "directory_api.show": Op("Медицинская организация по ОГРН", PUBLIC,
                             answer={"allOf": [MEDICAL_ORGANIZATION, obj(refreshed_at=NULLABLE)]},
                             description="422 — ОГРН не из 13 цифр; 404 — такой организации нет в справочнике."),
    "api_docs.openapi": Op("Это описание API (OpenAPI 3.1)", PUBLIC),
    "health.health": Op("Состояние частей системы", PUBLIC, extra=(503,),
                        answer=obj(db=STRING, redis=STRING, registry=STRING, workers=STRING, scheduler=STRING)),
    # ------------------------------------------------------------------ citizen's cabinet
    "notifications_api.index": Op("Уведомления", CITIZEN, answer=ITEMS,
                                  query=(("unread", STRING, "1 — только непрочитанные"), *PAGE)),
    "notifications_api.read": Op("Отметить уведомление прочитанным", CITIZEN),
    "notifications_api.read_all": Op("Отметить все уведомления прочитанными", CITIZEN, answer=obj(marked=INT)),
    "notifications_api.get_settings": Op("Настройки уведомлений", CITIZEN),
    "notifications_api.patch_settings": Op("Изменить настройки уведомлений", CITIZEN,
                                           obj(phone=STRING, sms_opt_in={"type": "boolean"})),
    "tracker_api.access_list": Op("Кто обращался к моим данным: когда, роль, подразделение, заявление", CITIZEN,
                                  answer=obj(items={"type": "array", "items": ref("Object")},
                                             staff_names_shown={"type": "boolean"})),
    "tracker_api.data_export": Op("Все мои данные: data.json и файлы в ZIP", CITIZEN, answer=BINARY,
                                  answer_types=("application/zip",)),
    "my_policy_api.show_json": Op(
        "Мой полис ОМС: действующий полис по данным профиля (ЕНП, а без него СНИЛС, и дата рождения)", CITIZEN,
        extra=(503,),
        answer=obj(outcome={"enum": ["found", "not_found", "no_identity"]}, enp=NULLABLE, status=NULLABLE,
                   status_label=NULLABLE, insurer={"type": ["object", "null"]}, region=NULLABLE,
                   valid_from=NULLABLE, valid_to=NULLABLE, reason=NULLABLE, next_steps=NULLABLE,
                   actions={"type": "array", "items": obj(action=STRING, label=STRING, url=STRING)}),
        description="Полис показывается, только если запись ЕРЗЛ принадлежит владельцу профиля (дата рождения, "
                    "СНИЛС, ФИО); иначе `not_found`; без ЕНП и СНИЛС — `no_identity`. Для истёкшего или "
                    "аннулированного полиса — что делать дальше "
                    "(`actions`: справка, обращение в поддержку). Каждый просмотр записывается в журнал."),
    "account_api.show": Op("Личные данные, ожидающая подтверждения смена e-mail, принятые документы", CITIZEN),
    "account_api.change": Op("Изменить личные данные (только переданные поля; null или \"\" — очистить)",
                             CITIZEN, ref("ProfileChange")),
    "account_api.change_email": Op("Сменить e-mail: код уходит на новый адрес", CITIZEN,
                                   obj(email=STRING, password=STRING), status=202,
                                   answer=obj(status=STRING, pending_email=STRING, message=STRING),
                                   extra=(503,)),
    "account_api.confirm_email": Op("Подтвердить новый e-mail кодом; токены API завершаются", CITIZEN,
                                    obj(code=STRING), extra=(503,)),
    "account_api.delete_account": Op("Удалить учётную запись (паролем); данные обезличиваются", CITIZEN,
                                     obj(password=STRING), answer=obj(status=STRING, message=STRING)),
    "support_api.create": Op("Обращение в службу поддержки («Обжалование отказа» становится жалобой)", CITIZEN,
                             ref("SupportRequest"), status=201, description=SCREENSHOTS, extra=STORED,
                             answer=obj(number=STRING, type=ref("SupportRequestType"), status=STRING,
                                        appeal_number=NULLABLE, due_at=NULLABLE, due_date=NULLABLE)),
    "support_api.index": Op("Обращения: свои (гражданин) или все (служба поддержки)", CITIZEN, query=PAGE,
                            answer=obj(items={"type": "array", "items": ref("SupportRequestView")},
                                       limit=INT, offset=INT)),
    "support_api.show": Op("Обращение с перепиской", CITIZEN, answer=ref("SupportRequestView")),
    "support_api.message": Op("Ответить в обращении или открыть его снова", CITIZEN, ref("SupportMessage"),
                              status=201, answer=ref("SupportRequestView"), description=SCREENSHOTS,
                              extra=STORED),
    "appointments_api.slots": Op("Свободное время врачей организации по специальности", CITIZEN, query=(
        ("ogrn", {"type": "string", "pattern": "^\\d{13}$"}, "ОГРН медицинской организации"),
        ("specialty", STRING, "Специальность врача"), ("date", DATE, "Дата приёма"),
        ("days", {"type": "integer", "minimum": 1, "maximum": 14}, "Сколько дней показать, начиная с даты")),
        answer=obj(slots={"type": "array", "items": ref("Slot")}), extra=(422, 503)),
    "appointments_api.create": Op("Записаться к врачу, приложив свою справку", CITIZEN,
                                  obj(slot_id=STRING, certificate_number=STRING), status=201,
                                  answer=ref("Appointment"), extra=(409, 422, 503),
                                  description="409 `slot_taken` — время уже занято (в `next_slots` — ближайшее "
                                              "свободное); 422 — справка не покрывает дату приёма или полис "
                                              "не действует в этот день; 503 — расписание клиники недоступно."),
    "appointments_api.index": Op("Мои записи к врачу", CITIZEN, query=PAGE,
                                 answer=obj(items={"type": "array", "items": ref("Appointment")}, limit=INT,
                                            offset=INT)),
    "appointments_api.show": Op("Запись к врачу", CITIZEN, answer=ref("Appointment")),
    "appointments_api.delete": Op("Отменить запись к врачу (не позднее чем за 2 часа до приёма)", CITIZEN,
                                  answer=ref("Appointment"), extra=(409,)),
    "appointments_api.move": Op("Перенести запись на другое время той же клиники и специальности", CITIZEN,
                                obj(slot_id=STRING), answer=ref("Appointment"), extra=(409, 422, 503),
                                description="409 `slot_taken` с `next_slots`, `too_late` — меньше 2 часов до "
                                            "приёма, `not_changeable` — запись ещё не подтверждена или "
                                            "уже изменяется."),
    "hotline.api_submit": Op("Заявление гражданина со слов по телефону (горячая линия)", CASES,
                             obj(email=STRING, application=ref("IndividualApplication")), status=201,
                             answer=ref("Application"), extra=(503,),
                             description="422 `identity_mismatch` — данные не совпали с учётной записью "
                                         "или реестром."),
    # ------------------------------------------------------------------ staff inbox
    "inbox_api.tasks": Op("Очередь задач", STAFF, query=(
        ("queue", ref("TaskQueue"), "Очередь"), ("role", ref("Role"), "Роль исполнителя"),
        ("task", STRING, "Шаг процесса"), ("sla", {"type": "string", "enum": list(SLA_STATES)}, "Срок"),
        ("due_from", DATE, "Срок с"), ("due_to", DATE, "Срок по"),
        ("status", {"type": "string", "enum": list(STATUSES)}, "Состояние"),
        ("q", STRING, "Поиск по номеру, ФИО"), ("sort", {"type": "string", "enum": list(SORTS)}, "Сортировка"),
        ("page", {"type": "integer", "minimum": 1}, "Страница"), *PAGE)),
    "inbox_api.task": Op("Задача с формой", STAFF),
    "inbox_api.claim": Op("Взять задачу в работу", STAFF),
    "inbox_api.unclaim": Op("Вернуть задачу в очередь", STAFF),
    "inbox_api.assign": Op("Назначить задачу сотруднику", STAFF, obj(assignee={"type": ["integer", "string", "null"]})),
    "inbox_api.bulk": Op("Массовое действие над задачами", STAFF,
                         obj(action={"enum": ["claim", "assign"]}, ids={"type": "array", "items": INT})),
    "inbox_api.complete": Op("Выполнить задачу (данные формы задачи)", STAFF, ref("Object")),
    "dashboard.api": Op("Показатели работы за период", OPS),
    # ------------------------------------------------------------------ operations
    "operations_api.incidents": Op("Сбои сервисных задач", OPS, answer=ITEMS,
                                   query=(("operator", STRING, "Сервис (оператор)"), ("process", STRING, "Процесс"),
                                          ("age", {"type": "string", "enum": list(AGE_LABELS)}, "Давность сбоя"),
                                          ("page", {"type": "integer", "minimum": 1}, "Страница"))),
    "operations_api.retry": Op("Повторить сбойные задачи", OPS, IDS),
    "operations_api.timers": Op("Таймеры процессов", OPS, answer=ITEMS,
                                query=(("case", STRING, "Номер заявления"),
                                       ("page", {"type": "integer", "minimum": 1}, "Страница"))),
    "operations_api.fire": Op("Сработать таймер сейчас", OPS, ref("Reason")),
    "operations_api.reschedule": Op("Перенести срок таймера", OPS,
                                    obj(reason=STRING, due_at={"type": "string", "format": "date-time"})),
    "operations_api.control": Op("Отменить, приостановить или возобновить дело", OPS, ref("Reason")),
    "migrations_api.create": Op("Перенос дел на другую версию процесса (dry_run — проверка)", OPS,
                                obj(process=STRING, to=INT, dry_run={"type": "boolean"}), extra=(202,)),
    "migrations_api.progress": Op("Ход переноса дел", OPS),
    "migrations_api.revert": Op("Откат переноса", OPS, status=202),
    "analytics.api": Op("Аналитика шагов процесса за период", OPS,
                        query=(("from", {"type": "string", "format": "date"}, "С даты"),
                               ("to", {"type": "string", "format": "date"}, "По дату"))),
    # ------------------------------------------------------------------ studio
    "processes_api.processes": Op("Развёрнутые процессы и их версии", STUDIO,
                                  answer={"type": "array", "items": ref("Object")}),
    "processes_api.catalogue": Op("Что предлагает панель свойств редактора: операторы, сроки, формы, дорожки, "
                                  "решения", STUDIO, query=(("draft", INT, "Добавить решения черновика"),)),
    "processes_api.version": Op("Исходные BPMN/DMN версии", STUDIO),
    "processes_api.diff": Op("Различия версий (номер или draft:<id>)", STUDIO,
                             query=(("from", STRING, "Версия или draft:<id>"),
                                    ("to", STRING, "Версия или draft:<id>"))),
    "processes_api.create_draft": Op("Черновик из файлов BPMN/DMN ({files: {имя: xml}} или multipart files)",
                                     STUDIO, obj(files={"type": "object", "additionalProperties": STRING}),
                                     status=201),
    "processes_api.draft": Op("Черновик", STUDIO),
    "processes_api.draft_from_current": Op("Черновик из файлов текущей версии процесса", STUDIO, status=201,
                                           answer=DRAFT),
    "processes_api.draft_file": Op("Файл черновика (BPMN/DMN)", STUDIO, answer=STRING,
                                   answer_types=("application/xml",)),
    "processes_api.save_draft_file": Op("Сохранить файл черновика на его ревизии (409 — сохранил другой)", STUDIO,
                                        obj(xml=STRING, revision=INT),
                                        answer=obj(revision=INT, updated_at=STRING,
                                                   problems={"type": "array"})),
    "processes_api.draft_impact": Op("Как решения черновика изменили бы недавние заявления", STUDIO,
                                     obj(limit={"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
                                     body_required=False),
    "processes_api.validate_draft": Op("Проверка черновика", STUDIO, answer=obj(problems={"type": "array"})),
    "processes_api.propose_draft": Op("Предложить черновик к утверждению", STUDIO, obj(comment=STRING)),
    "processes_api.approve_draft": Op("Утвердить черновик (не автор)", STUDIO),
    "processes_api.reject_draft": Op("Отклонить черновик", STUDIO),
    "processes_api.set_current": Op("Сделать версию текущей (откат)", STUDIO, obj(version=INT)),
}
