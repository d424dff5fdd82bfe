"""The blog app; connects its signal receivers when Django starts."""

from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "blog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from blog import signals  # noqa: F401  (connects the receivers)
