"""The translation catalogue is complete and consistent with the code: every text marked in the server and the
templates has English, the English keeps the msgid's placeholders, every enum a person may see has a label,
and the language follows ?lang= and the lang cookie."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from devtools.i18n import extracted, read_catalogue, untranslated
from server import i18n
from server.office.message_catalogue import CATALOGUE, label_of

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sr]|\{[a-zA-Z_]+\}")


def test_every_marked_text_has_english() -> None:
    wanted = extracted()
    assert len(wanted) > 300  # the extraction found the templates and the server code, not nothing
    assert untranslated(read_catalogue(), wanted) == []


def test_english_keeps_the_placeholders_of_the_indonesian() -> None:
    catalogue = read_catalogue()
    differing = [
        (message.id, message.string)
        for message in catalogue
        if message.id
        and message.string
        and sorted(PLACEHOLDER.findall(str(message.id))) != sorted(PLACEHOLDER.findall(str(message.string)))
    ]
    assert differing == []


def _enums(node: object, path: str, found: dict[str, list[str]]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "enum" and isinstance(value, list):
                found[path] = [str(v) for v in value]
            else:
                _enums(value, f"{path}.{key}", found)
    elif isinstance(node, list):
        for item in node:
            _enums(item, path, found)


#: schema enum (file, last path segment) -> the label kind that names its values on the pages
SHOWN_ENUMS = {
    ("document", "doc_kind"): "doc_kind",
    ("document", "partner"): "partner",
    ("document", "delivery"): "delivery",
    ("handoff", "party"): "party",
    ("handoff", "kind"): "handoff",
    ("handoff", "seal_condition"): "seal_condition",
    ("handoff", "failure_reason"): "failure_reason",
    ("complaint", "kind"): "complaint",
    ("complaint", "channel"): "channel",
    ("visit", "status"): "capture",
    ("visit", "outcome"): "outcome",
}


def test_every_enum_value_a_person_sees_has_a_label_in_both_languages() -> None:
    found: dict[tuple[str, str], list[str]] = {}
    for schema in sorted((ROOT / "schemas").glob("*.schema.json")):
        enums: dict[str, list[str]] = {}
        _enums(json.loads(schema.read_text()), "", enums)
        for path, values in enums.items():
            found[(schema.name.split(".")[0], path.rsplit(".", 1)[-1])] = values
    assert set(SHOWN_ENUMS) <= set(found)
    for where, kind in SHOWN_ENUMS.items():
        for value in found[where]:
            i18n.set_language("id")
            indonesian = i18n.label(kind, value)
            i18n.set_language("en")
            english = i18n.label(kind, value)
            assert indonesian != value or value in {"gojek", "grab", "maxim"} or kind == "doc_kind", where
            assert "_" not in indonesian and "_" not in english, (where, value)
    i18n.set_language("id")


#: How the gateway names a refusal in its code: `_refuse("code", ...)`, `Refusal("code", ...)`, an image's
#: `ImageError("code", ...)` (the code is the first argument, on the call's line or the next).
REFUSAL_CALL = re.compile(r"\b(?:_refuse|Refusal|ImageError)\(\s*\"([a-z_]+)\"")


def test_every_refusal_code_has_a_label_the_queue_counts_it_by() -> None:
    codes = {
        code
        for folder in ("sync", "records")
        for path in sorted((ROOT / folder).glob("*.py"))
        for code in REFUSAL_CALL.findall(path.read_text())
    }
    assert {"invalid", "not_assigned", "signature", "image_too_large"} <= codes  # the pattern finds them
    assert sorted(codes - set(i18n.LABELS["refusal"])) == []
    for code in codes:
        for language in i18n.LANGUAGES:
            i18n.set_language(language)
            assert "_" not in i18n.label("refusal", code), (language, code)
    i18n.set_language("id")


def test_an_unknown_value_shows_as_itself_and_none_as_a_dash() -> None:
    assert i18n.label("status", "something_new") == "something_new"
    assert i18n.label("status", None) == "-"


@pytest.mark.parametrize(
    ("query", "cookie", "expected"),
    [
        (b"", None, "id"),
        (b"lang=en", None, "en"),
        (b"office=6471&lang=en", b"lang=id", "en"),
        (b"", b"lang=en", "en"),
        (b"lang=fr", b"lang=en", "en"),  # an unknown choice is no choice: the cookie stands
        (b"", b"segel_session=x; lang=xx", "id"),
    ],
)
def test_the_language_of_a_request(query: bytes, cookie: bytes | None, expected: str) -> None:
    headers = [(b"cookie", cookie)] if cookie else []
    assert i18n.language_of({"type": "http", "query_string": query, "headers": headers}) == expected


def test_texts_follow_the_language_and_indonesian_is_the_source() -> None:
    i18n.set_language("en")
    try:
        assert i18n.gettext("Serah terima") == "Handovers"
        assert i18n.label("delivery", "self_pickup") == "Picks up at the office"
        assert i18n.gettext("a text nobody translated") == "a text nobody translated"
    finally:
        i18n.set_language("id")
    assert i18n.gettext("Serah terima") == "Serah terima"
    assert i18n.label("partner", "pos_indonesia") == "Pos Indonesia"


def test_the_names_of_resident_messages_have_their_english_in_the_catalogue() -> None:
    indonesian = {kind: label_of(kind) for kind in CATALOGUE}
    i18n.set_language("en")
    try:
        english = {kind: label_of(kind) for kind in CATALOGUE}
    finally:
        i18n.set_language("id")
    assert english["document_ready"] == "Document ready"
    assert all(english[kind] != indonesian[kind] for kind in CATALOGUE)
    assert label_of("document_ready") == "Dokumen siap"


def _language_app(secure: bool) -> Starlette:
    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse(i18n.current_language())

    app = Starlette(routes=[Route("/", page)])
    app.add_middleware(i18n.LanguageMiddleware, secure=secure)
    return app


@pytest.mark.parametrize(
    ("base_url", "deployment_secure", "secure"),
    [
        ("http://localhost:8000", False, False),  # plain-HTTP development: a Secure cookie would be dropped
        ("https://segel.example", False, True),  # the request came over HTTPS
        ("http://segel.example", True, True),  # behind a TLS proxy: the origin is https (secure_cookies)
    ],
)
def test_the_language_cookie_is_secure_over_https_lax_and_readable_by_the_app(
    base_url: str, deployment_secure: bool, secure: bool
) -> None:
    with TestClient(_language_app(deployment_secure), base_url=base_url) as client:
        chosen = client.get("/?lang=en")
        assert chosen.text == "en"
        attributes = [part.strip().lower() for part in chosen.headers["set-cookie"].split(";")]
        assert attributes[0] == "lang=en" and "path=/" in attributes and "samesite=lax" in attributes
        assert ("secure" in attributes) is secure
        assert "httponly" not in attributes  # the PWA reads it from document.cookie (lib/i18n.js)
        assert "set-cookie" not in client.get("/").headers  # only a choice sets it
