from django.urls import path

from . import audit_views

urlpatterns = [
    path("", audit_views.audit_list, name="audit_list"),
    path("export.xlsx", audit_views.audit_export_xlsx, name="audit_export"),
]
