"""Deployment checks of our own, run by `manage.py check --deploy` beside Django's.

Each one catches a set-up that works on a laptop and fails quietly on a server.
"""
from django.conf import settings
from django.core.checks import Warning, register


@register("glmweb", deploy=True)
def check_shared_services(app_configs, **kwargs):
    problems = []
    if not settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis."):
        problems.append(Warning(
            "The in-memory channel layer only reaches sockets of the same process.",
            hint="Set REDIS_URL so replies reach every Daphne process and survive a reload.",
            id="glmweb.W001",
        ))
    if str(settings.CELERY_BROKER_URL).startswith("filesystem://"):
        problems.append(Warning(
            "The Celery broker keeps its queue in local files.",
            hint="Set REDIS_URL: workers on other machines or containers cannot read local files.",
            id="glmweb.W002",
        ))
    if not settings.ZHIPUAI_API_KEY and not settings.GLM_OFFLINE_DEMO:
        problems.append(Warning(
            "No GLM API key is configured: every reply will fail.",
            hint="Set ZHIPUAI_API_KEY to the key from the Zhipu open platform.",
            id="glmweb.W003",
        ))
    return problems
