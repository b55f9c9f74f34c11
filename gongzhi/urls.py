"""Top-level URLs: pages, the API under /api/v1/, the admin, language switch and the health check."""

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path

from gongzhi.api import api


def healthz(request):
    """For load balancers: answers without a session and checks the database is reachable."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


admin.site.site_header = "共治 gongzhi"
admin.site.site_title = "共治 gongzhi"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("gongzhi.people.urls")),
    path("places/", include("gongzhi.places.urls")),
    path("roster/", include("gongzhi.people.roster_urls")),
    path("points/", include("gongzhi.points.urls")),
    path("shop/", include("gongzhi.shop.urls")),
    path("cases/", include("gongzhi.cases.urls")),
    path("open311/v2/", include("gongzhi.cases.open311_urls")),
    path("volunteering/", include("gongzhi.volunteering.urls")),
    path("deliberation/", include("gongzhi.deliberation.urls")),
    path("cobuilding/", include("gongzhi.cobuilding.urls")),
    path("cockpit/", include("gongzhi.cockpit.urls")),
    path("audit/", include("gongzhi.core.audit_urls")),
]
