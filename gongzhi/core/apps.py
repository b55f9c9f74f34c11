from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "gongzhi.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # Each domain declares its periodic jobs in <app>/jobs.py with @periodic_job; import them all once.
        autodiscover_modules("jobs")
