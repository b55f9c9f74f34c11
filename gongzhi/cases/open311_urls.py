"""Open311 GeoReport v2, mounted at /open311/v2/ (see gongzhi/cases/open311.py). The format is the file extension."""

from django.urls import re_path

from . import open311

FMT = r"\.(?P<fmt>[A-Za-z0-9]+)"

urlpatterns = [
    re_path(rf"^services{FMT}$", open311.services_list, name="open311_services"),
    re_path(rf"^services/(?P<service_code>[^/]+?){FMT}$", open311.service_definition, name="open311_service"),
    re_path(rf"^requests{FMT}$", open311.requests_collection, name="open311_requests"),
    re_path(rf"^requests/(?P<service_request_id>[^/]+?){FMT}$", open311.request_detail, name="open311_request"),
    re_path(rf"^tokens/(?P<token>[^/]+?){FMT}$", open311.token_detail, name="open311_token"),
]
