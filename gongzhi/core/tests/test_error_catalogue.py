"""The error catalogue: every code lives in an app's errors.py, docs/errors.md is current, no inline codes."""

from __future__ import annotations

import ast
from pathlib import Path

from gongzhi.core.error_catalogue import DOC_PATH, catalogues, duplicate_codes, render_markdown
from gongzhi.core.errors import CoreError, DomainError, NotFound, ValidationFailed

PACKAGE = Path(__file__).resolve().parents[2]
BASE_KINDS = {"DomainError", "ValidationFailed", "NotFound", "PermissionDenied", "NotAuthenticated", "Conflict",
              "Locked", "ServerFault"}


def _sources() -> list[Path]:
    return [
        path
        for path in PACKAGE.rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts and "browser_tests" not in path.parts
    ]


def _error_class_names(trees: dict[Path, ast.Module]) -> set[str]:
    """The DomainError kinds and every class in the code that derives from one (followed to a fixed point)."""
    names = set(BASE_KINDS)
    grew = True
    while grew:
        grew = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def test_docs_errors_md_is_generated_from_the_catalogues():
    assert DOC_PATH.read_text(encoding="utf-8") == render_markdown(), "run `gongzhi errors_doc`"


def test_a_code_means_one_status_everywhere():
    assert duplicate_codes() == {}


def test_codes_are_unique_within_each_catalogue_and_translated():
    for enum in catalogues():
        codes = [member.code for member in enum]
        assert len(codes) == len(set(codes)), enum
        for member in enum:
            assert issubclass(member.kind, DomainError)
            assert str(member.message).strip(), member


def test_no_error_code_is_written_inline():
    """A refusal's code comes from a catalogue member, never a string at the raise (or a class attribute)."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in _sources()}
    kinds = _error_class_names(trees)
    offenders = []
    for path, tree in trees.items():
        relative = path.relative_to(PACKAGE.parent)
        if relative.as_posix() == "gongzhi/core/errors.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in kinds and any(keyword.arg == "code" for keyword in node.keywords):
                    offenders.append(f"{relative}:{node.lineno} {name}(code=...)")
            if isinstance(node, ast.ClassDef) and node.name in kinds:
                for statement in node.body:
                    targets = statement.targets if isinstance(statement, ast.Assign) else []
                    if any(getattr(target, "id", "") == "code" for target in targets) and isinstance(
                        statement.value, ast.Constant
                    ):
                        offenders.append(f"{relative}:{statement.lineno} class {node.name}: code = '...'")
    assert offenders == [], "use the app's errors.py catalogue:\n" + "\n".join(offenders)


def test_a_member_makes_its_error_with_the_general_or_a_specific_message():
    error = CoreError.NOT_FOUND()
    assert isinstance(error, NotFound) and error.code == "not_found" and error.status == 404
    specific = CoreError.VALIDATION_FAILED("Too long.", fields={"title": "Too long."})
    assert isinstance(specific, ValidationFailed)
    assert specific.as_dict() == {
        "code": "validation_failed",
        "message": "Too long.",
        "fields": {"title": ["Too long."]},
    }


def test_the_api_description_lists_the_codes(client):
    schema = client.get("/api/v1/openapi.json").json()
    for enum in catalogues():
        for member in enum:
            assert f"`{member.code}`" in schema["info"]["description"]
