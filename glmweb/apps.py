from django.apps import AppConfig


class GlmwebConfig(AppConfig):
    """The project package as an app: its deployment checks, templates and log context."""

    name = "glmweb"
    verbose_name = "GLM Web"

    def ready(self):
        from . import checks, task_log_context  # noqa: F401  (they register on import)
