"""The shared plumbing: the API pager, the page pager, uploads, the import runner and assert_refused."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.utils import translation
from PIL import Image

from gongzhi.core.api_support import Page, PageQuery, paginate
from gongzhi.core.errors import CoreError, DomainError
from gongzhi.core.imports import start_import, stored_upload_path
from gongzhi.core.models import Progress
from gongzhi.core.pagination import page_of
from gongzhi.core.testing import assert_refused, image_upload
from gongzhi.core.uploads import DOCUMENTS, SPREADSHEETS, clean_photos, clean_upload

# ---------------------------------------------------------------- pagers


@pytest.mark.django_db
def test_paginate_counts_slices_and_renders(tree):
    from gongzhi.places.models import Place

    everything = Place.objects.order_by("pk")
    page = paginate(everything, PageQuery(page=2, page_size=3), render=lambda place: place.pk)
    assert page["count"] == everything.count() and page["page"] == 2 and page["page_size"] == 3
    assert page["results"] == [place.pk for place in everything[3:6]]
    past_the_end = paginate(everything, 99, 50)
    assert past_the_end["results"] == [] and past_the_end["count"] == everything.count()
    assert paginate([1, 2, 3], 1, 2)["results"] == [1, 2]


def test_page_schema_is_generic_and_can_grow():
    from ninja import Schema

    class Row(Schema):
        id: int

    class RowsWithUnread(Page[Row]):
        unread: int

    value = RowsWithUnread(count=1, page=1, page_size=50, results=[{"id": 7}], unread=2)
    assert value.results[0].id == 7 and value.unread == 2


def test_page_of_never_fails_on_a_bad_page_number():
    request = RequestFactory().get("/", {"page": "abc"})
    assert page_of(request, list(range(60)), per_page=25).number == 1
    request = RequestFactory().get("/", {"page": "9"})
    assert page_of(request, list(range(60)), per_page=25).number == 3


# ---------------------------------------------------------------- uploads


def _jpeg_with_exif() -> bytes:
    buffer = io.BytesIO()
    picture = Image.new("RGB", (40, 20), (10, 120, 10))
    exif = picture.getexif()
    exif[0x010F] = "Phone maker"
    exif[0x0112] = 6  # rotated: must come out upright
    picture.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_photos_are_re_encoded_upright_without_exif():
    [photo] = clean_photos([SimpleUploadedFile("IMG_1.JPG", _jpeg_with_exif(), content_type="image/jpeg")])
    reopened = Image.open(photo)
    assert photo.name == "IMG_1.jpg" and photo.content_type == "image/jpeg"
    assert not reopened.getexif()
    assert reopened.size == (20, 40)


def test_heic_photos_become_jpeg():
    from pillow_heif import from_pillow

    buffer = io.BytesIO()
    from_pillow(Image.new("RGB", (16, 16))).save(buffer, format="HEIF")
    photo = clean_upload(SimpleUploadedFile("live.heic", buffer.getvalue()), field="photos")
    assert photo.name == "live.jpg" and Image.open(photo).format == "JPEG"


@pytest.mark.parametrize(
    "upload, reason",
    [
        (SimpleUploadedFile("fake.jpg", b"\xff\xd8\xff\xe0not a picture at all"), "could not be read"),
        (SimpleUploadedFile("script.png", b"<script>alert(1)</script>"), "JPEG / PNG / WebP / HEIC"),
        (SimpleUploadedFile("empty.jpg", b""), "empty"),
    ],
)
def test_what_is_not_a_picture_is_refused_on_its_field(upload, reason):
    with translation.override("en"), pytest.raises(DomainError) as refused:
        clean_photos([upload])
    assert refused.value.code == "upload_refused" and refused.value.status == 422
    with translation.override("en"):
        assert reason in refused.value.as_dict()["fields"]["photos"][0]


def test_size_and_count_limits():
    with translation.override("en"), pytest.raises(DomainError) as refused:
        clean_photos([image_upload()] * 3, max_count=2)
    with translation.override("en"):
        assert "at most 2" in refused.value.as_dict()["fields"]["photos"][0]
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.7" + b"0" * (2 * 1024 * 1024))
    with pytest.raises(DomainError):
        clean_upload(big, field="agreement_file", kinds=DOCUMENTS, max_bytes=1024 * 1024)


def test_documents_and_spreadsheets_pass_through_by_their_first_bytes():
    scan = SimpleUploadedFile("agreement.PDF", b"%PDF-1.4 ...")
    assert clean_upload(scan, field="agreement_file", kinds=DOCUMENTS) is scan
    with pytest.raises(DomainError):
        clean_upload(SimpleUploadedFile("roster.xlsx", b"not a zip"), field="file", kinds=SPREADSHEETS)


# ---------------------------------------------------------------- the import runner


def counting_runner(*, actor, file_obj, filename, progress, lines_expected):
    """A runner for the test: counts lines, refuses a file that says so."""
    text = file_obj.read().decode()
    if "refuse" in text:
        raise CoreError.VALIDATION_FAILED("The file says refuse.")
    lines = text.splitlines()
    progress("counting", len(lines), lines_expected)
    return {"ok": True, "lines": len(lines), "by": actor.username, "file": filename}


@pytest.mark.django_db
def test_start_import_runs_the_runner_records_the_report_and_deletes_the_file(tree, settings, tmp_path, inline_jobs):
    from gongzhi.people.tests.factories import AccountFactory

    settings.MEDIA_ROOT = tmp_path
    actor = AccountFactory()
    progress = start_import(
        actor=actor,
        upload=SimpleUploadedFile("list.txt", b"a\nb\nc\n"),
        folder="test",
        runner="gongzhi.core.tests.test_plumbing.counting_runner",
        progress_kind="test_import",
        estimate=3,
        params={"lines_expected": 3},
        result={"place": "here"},
        suffix=".txt",
    )
    progress.refresh_from_db()
    assert progress.status == Progress.Status.SUCCEEDED, progress.result
    assert progress.result == {"place": "here", "filename": "list.txt", "ok": True, "lines": 3,
                               "by": actor.username, "file": "list.txt"}
    assert list((tmp_path / "imports" / "test").iterdir()) == []

    refused = start_import(
        actor=actor, upload=SimpleUploadedFile("r.txt", b"refuse"), folder="test",
        runner="gongzhi.core.tests.test_plumbing.counting_runner", progress_kind="test_import",
        params={"lines_expected": 1}, suffix=".txt",
    )
    refused.refresh_from_db()
    assert refused.status == Progress.Status.FAILED and refused.result["refused"] == "The file says refuse."
    assert not stored_upload_path("test", "0" * 32, ".txt").exists()


# ---------------------------------------------------------------- assert_refused


@pytest.mark.django_db
def test_assert_refused_sees_a_half_write(tree):
    from gongzhi.places.models import Place

    def refuses_cleanly():
        raise CoreError.CONFLICT()

    assert_refused(CoreError.CONFLICT, refuses_cleanly)

    def writes_then_refuses():
        Place.objects.filter(pk=tree["grid_a1"].pk).update(name="renamed")
        raise CoreError.CONFLICT()

    with pytest.raises(AssertionError, match="places_place"):
        assert_refused("conflict", writes_then_refuses)
    with pytest.raises(AssertionError, match="expected 'not_found'"):
        assert_refused("not_found", refuses_cleanly)
