"""Queueing Celery tasks by name, for the layers below certification/tasks.py.

The tasks sit on top: they call the notifications, documents and workflow code. That code
must still queue work when its transaction commits (an outbox event's dispatch, a
certificate's PDF), so it names the task instead of importing it; the names are those of
the ``@shared_task(name=...)`` declarations in certification/tasks.py, which
certification/apps.py imports at start-up so that every process knows them.
"""

import logging
import threading

from celery import current_app
from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)
_inline = threading.local()

DISPATCH_EVENT = "certification.dispatch_event"
DELIVER = "certification.deliver"
RENDER_CERTIFICATE_PDF = "certification.render_certificate_pdf"
PUBLISH_STATUS_LIST = "certification.publish_status_list"
MAIL_AUDIT_CHECKPOINT = "certification.mail_audit_checkpoint"


def queue(task_name: str, ids) -> None:
    """Queue the task `task_name(id)` for each id. With eager tasks (the embedded default)
    they run after the commit in a thread of their own, so a slow receiver never slows the
    request; with a broker that cannot be reached the rows stay due and beat's sweep queues
    them later."""
    ids = [str(pk) for pk in ids]
    if not ids:
        return
    task = current_app.tasks[task_name]
    if current_app.conf.task_always_eager:
        if settings.OUTBOX_EAGER_IN_THREAD and not getattr(_inline, "active", False):
            threading.Thread(
                target=_run_in_thread, args=(task, ids), name="outbox-dispatch"
            ).start()
        else:
            _run_inline(task, ids)
        return
    for pk in ids:
        try:
            task.delay(pk)
        except Exception as error:  # noqa: BLE001 - the broker is down; the sweep recovers
            logger.warning(
                "Could not queue %s(%s): %s; beat's outbox sweep will queue it.",
                task_name,
                pk,
                type(error).__name__,
            )
            return


def _run_inline(task, ids):
    for pk in ids:
        task.apply(args=(pk,))


def _run_in_thread(task, ids):
    _inline.active = True
    try:
        _run_inline(task, ids)
    finally:
        _inline.active = False
        connections.close_all()
