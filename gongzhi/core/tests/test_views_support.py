"""Private files are streamed only after the view's access check, cached only by the person's own browser."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile

from gongzhi.core.errors import NotFound
from gongzhi.core.views_support import private_file_response
from gongzhi.shop.models import AllianceMembership


def _stored(tmp_path, name: str | None):
    field = AllianceMembership._meta.get_field("agreement_file")
    stored = FieldFile(AllianceMembership(), field, name)
    stored.storage = FileSystemStorage(location=str(tmp_path))
    return stored


def test_a_stored_file_streams_privately_without_content_sniffing(tmp_path):
    stored = _stored(tmp_path, None)
    stored.storage.save("alliance/a.pdf", ContentFile(b"%PDF-1.4"))
    stored.name = "alliance/a.pdf"
    response = private_file_response(stored, filename="a.pdf")
    assert b"".join(response.streaming_content) == b"%PDF-1.4"
    assert response["Cache-Control"] == "private, max-age=3600" and response["X-Content-Type-Options"] == "nosniff"
    assert private_file_response(stored, cache_seconds=0)["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("name", [None, "", "alliance/missing-on-disk.pdf"])
def test_an_empty_or_missing_file_is_not_found(tmp_path, name):
    with pytest.raises(NotFound):
        private_file_response(_stored(tmp_path, name))
