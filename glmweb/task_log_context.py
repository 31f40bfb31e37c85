"""Celery tasks log under their task id, as requests do under their request id.

Registered on import (glmweb.apps). A worker child runs one task at a time, so each task simply
replaces the previous task's ids.
"""
from celery.signals import task_prerun

from .log_context import request_id_var, user_id_var


@task_prerun.connect(weak=False)
def _bind_task_id(task_id=None, **_):
    request_id_var.set(f"task-{task_id}" if task_id else None)
    user_id_var.set(None)
