from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    name = "gongzhi.points"
    label = "points"
    verbose_name = _("Red points")
