"""Reading a list uploaded on the page, in a worker: 10,000 rows take a few seconds, the page shows progress.

The page stores the file and marks the list `checking` (tasks.cases.employees.begin_page_check), then
enqueues `check_uploaded_list` on the workers' RQ queue. The job reads the file with a progress callback
(«Проверено N из M строк» on the page), stores the outcome exactly as an API upload does and tells the
process. A job for an upload that a newer one replaced does nothing.
"""

from __future__ import annotations

import logging

from rq import Queue

from engine.context import Services, get_services
from engine.db import Database
from tasks.cases.operators.certificates import app_config
from tasks.config import AppConfig

from .actions import ActionRefused
from .employees import announce, check_file, record_progress, store_checked, store_refused
from .models.employees import CaseEmployeeList
from .storage import FileStore

log = logging.getLogger(__name__)
JOB = "tasks.cases.employee_jobs.check_uploaded_list"
JOB_TIMEOUT_S = 600


def enqueue_check(services: Services, *, list_id: int, version: int, number: str) -> str:
    """Put the check of a page upload on the workers' queue; the RQ job id."""
    queue = Queue(services.settings.queue_name, connection=services.redis)
    job = queue.enqueue_call(JOB, args=(list_id, version, number), timeout=JOB_TIMEOUT_S, result_ttl=0,
                             failure_ttl=3600, job_id=f"employees-{list_id}-{version}")
    return job.id


def refuse_unchecked(db: Database, config: AppConfig, *, list_id: int, version: int) -> None:
    """The page upload could not be checked (a failure of ours, not of the file): say so and let it be sent again."""
    store_refused(db, config, list_id=list_id, version=version, code="check_failed", status=503,
                  message="Не удалось проверить файл из-за сбоя на нашей стороне: загрузите его ещё раз")


def check_uploaded_list(list_id: int, version: int, number: str) -> str:
    """The RQ job: read the stored upload, keep the outcome, tell the process; the list's status."""
    services, config = get_services(), app_config()
    db = services.database
    with db.session() as s:
        stored = s.get(CaseEmployeeList, list_id)
        if stored is None or stored.version != version or stored.status != "checking" or not stored.file_key:
            return "superseded"
        filename, key, uploader = stored.filename, stored.file_key, stored.uploaded_by

    def progress(done: int, total: int) -> None:
        record_progress(db, list_id, version, done, total)

    from forms.employees import EmployeeFileError

    try:
        data = FileStore(config.uploads_dir).read(key)
        checked = check_file(data, filename, progress)
        result = store_checked(db, config, number=number, uploader_id=uploader, filename=filename, data=data,
                               checked=checked, version=version)
    except EmployeeFileError as exc:
        store_refused(db, config, list_id=list_id, version=version, code=exc.code, message=exc.message,
                      status=exc.status)
        return "refused"
    except ActionRefused as exc:
        store_refused(db, config, list_id=list_id, version=version, code=exc.code, message=exc.message, status=409)
        return "refused"
    except Exception:
        # Whatever else broke, the page must not wait for this check for ever: it says so and
        # offers the upload form again (the file is still with the person who uploaded it).
        log.exception("checking employee list %s version %s failed", list_id, version)
        refuse_unchecked(db, config, list_id=list_id, version=version)
        raise
    if result is None:
        return "superseded"
    announce(db, services.runtime, number=number, stored=result, actor=f"user:{uploader}")
    return result.status
