from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RollupsConfig(AppConfig):
    name = "gongzhi.rollups"
    label = "rollups"
    verbose_name = _("Figure roll-ups")
