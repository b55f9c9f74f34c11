from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo district and seed data builders, with the ``gongzhi demo`` and ``gongzhi seed`` commands."""

    name = "gongzhi.demo"
    label = "demo"
    verbose_name = "demo district"
