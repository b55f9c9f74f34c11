"""The points API's OpenAPI document says what the endpoints answer (found by core/tests/test_fuzzing.py)."""

from __future__ import annotations

import json

from gongzhi.api import api


def _document() -> dict:
    return json.loads(json.dumps(api.get_openapi_schema()))  # status codes as the served document spells them


def _response_schema(path: str, status: str = "200") -> dict:
    document = _document()
    schema = document["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    return document["components"]["schemas"][name]


def test_my_rank_documents_its_own_body_not_the_alliance_ranking_row():
    """Two schemas named RankOut (points and co-building) shared one name in the document, so /points/my-rank was
    documented with the alliance ranking's row."""
    assert set(_response_schema("/api/v1/points/my-rank")["required"]) >= {"account_id", "rank", "points"}


def test_my_accounts_and_my_claims_document_the_refusals():
    document = _document()
    for path in ("/api/v1/points/accounts/mine", "/api/v1/points/claims"):
        assert "401" in document["paths"][path]["get"]["responses"], path
