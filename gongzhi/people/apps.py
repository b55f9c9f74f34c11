from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "gongzhi.people"
    label = "people"
    verbose_name = _("People and organisations")

    def ready(self) -> None:
        from . import sessions  # noqa: F401  (stamps the login time for the idle timeout)
