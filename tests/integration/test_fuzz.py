"""Fuzzing the outside surface (issue 12): generated bodies, query strings, tokens and form fields against the
sync gateway, the identity JSON steps, office forms and residents' links, as a courier, as staff, with a
wrong token and signed out.

Whatever arrives, the server answers like a server that was designed for it: never a 5xx, every refusal
(4xx) says why (CouchDB's `{"error", "reason"}` in JSON, a page with the reason in HTML), and a refused
request stores nothing: the databases hold the same documents at the same revisions afterwards (counters
of attempts and audit entries aside, which a refusal is meant to write).

The budget is fixed (120 + 100 + 60 examples) and derandomized, so every run (and CI) tries the same
requests: 35 to 45 s in all on PouchDB Server on a 2-core machine at load 9 (one kept-open admin client
for the before/after looks; a client per look had cost most of the time).
Hypothesis keeps no example database (`database=None`).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from server.residents.links import issue_link
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import bearer, enrollment_token, issue_device_token, make_user, open_session
from tests.support.office import document_fields, put_document, ready_ledger
from tests.support.pouch_client import document_record, handoff_record, photo_bytes, photo_record, seal_record

pytestmark = pytest.mark.anyio


def budget(examples: int) -> Any:
    """A small fixed budget: reproducible (derandomized), no deadline (the database's pace varies)."""
    return hypothesis_settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# --- what may arrive ------------------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=24)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
#: Strings that have broken parsers before: odd ids, revisions, encodings, very long and very small.
NASTY_TEXT = st.sampled_from(
    [
        "",
        "_design/records",
        "_local/x",
        "_all_docs",
        "../_users",
        "document:",
        "1-",
        "0-abc",
        "99999999999999999999-a",
        "-1-x",
        "\x00",
        "\ud7ff\ue000",
        "%00",
        "null",
        "[]",
        "{}",
        "a" * 5000,
        "seal:6471:BP00000001",
        "photo:ZZ/../x",
    ]
) | st.text(max_size=40)
RECORD_FIELDS = (
    "_id",
    "_rev",
    "_deleted",
    "_revisions",
    "_attachments",
    "_conflicts",
    "type",
    "office",
    "author",
    "document_id",
    "handoff_id",
    "kind",
    "seq",
    "prev_hash",
    "photos",
    "device_time",
    "signature",
    "assignment",
    "attachment",
    "size",
    "sha256",
    "content_type",
)


def mutated(record: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid record with a few fields replaced by anything, or removed: gets past the first checks."""
    changes = st.dictionaries(
        st.sampled_from(RECORD_FIELDS), st.one_of(JSON_VALUES, NASTY_TEXT, st.just(None)), max_size=3
    )

    def apply(edits: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(record)
        for name, value in edits.items():
            if value is None and name in doc:
                del doc[name]
            else:
                doc[name] = value
        return doc

    return changes.map(apply)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, str]
    content: bytes | None = None
    content_type: str | None = "application/json"


def segment(text: str) -> str:
    """A path segment as a client would send it: control characters, spaces, `?`, `#` and non-ASCII
    percent-encoded; `/`, `%` and the rest left as they are (so `%00` and `../` still reach the server)."""
    return quote(text, safe="!$&'()*+,;=:@/%")


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()


def body_bytes(shaped: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """Mostly JSON of the route's own shape, sometimes any JSON, sometimes bytes that are not JSON."""
    return st.one_of(
        shaped.map(as_json),
        shaped.map(as_json),
        JSON_VALUES.map(as_json),
        st.binary(max_size=64),
        st.sampled_from(
            [b"", b"{", b"[" * 40 + b"]" * 40, b"[" * 100_000, b'{"docs": 1e999999}', b"\xff\xfe{}", b"nul"]
        ),
    )


CONTENT_TYPES = st.sampled_from(
    ["application/json"] * 6
    + ["text/plain", "application/json; charset=latin-1", "multipart/form-data", None]
)
QUERY_VALUES = st.one_of(
    NASTY_TEXT,
    st.integers(-(2**65), 2**65).map(str),
    st.sampled_from(["true", "false", "longpoll", "normal"]),
)


# --- the world the requests land in ---------------------------------------------------------------------


@dataclass
class World:
    settings: Settings
    tokens: dict[str, dict[str, str]]
    records: dict[str, dict[str, Any]]


async def _world(couch: CouchClient, settings: Settings) -> World:
    await make_user(couch, settings, "kurir.a", "courier")
    await make_user(couch, settings, "kurir.b", "courier")
    await make_user(couch, settings, "budi.santoso", "staff", name="Budi Santoso")
    db = couch.db(settings.records_db)
    doc_a = document_record("kurir.a")
    seal_a = seal_record(doc_a["_id"], "BP00000011")
    handoff_a = handoff_record(doc_a["_id"], "kurir.a", seq=1)
    photo_a = photo_record(handoff_a["_id"], doc_a["_id"], "kurir.a", photo_bytes(3000))
    doc_b = document_record("kurir.b")
    await db.bulk_docs([doc_a, seal_a, handoff_a, photo_a, doc_b])
    tokens = {
        "courier": bearer(await issue_device_token(couch, settings, "kurir.a")),
        "staff": bearer(await issue_device_token(couch, settings, "budi.santoso")),
        "forged": {"Authorization": "Bearer " + "A" * 43},
        "anonymous": {},
    }
    # What kurir.a's phone would push next: a handoff after the stored one and its photo, as replicated
    # revisions (the shape the gateway accepts), so mutations of them reach the record checks.
    next_a = handoff_record(doc_a["_id"], "kurir.a", seq=2, prev=handoff_a)
    photo_next = photo_record(next_a["_id"], doc_a["_id"], "kurir.a", photo_bytes(3000))
    next_a["photos"] = [photo_next["_id"]]
    for rev, record in enumerate((next_a, photo_next), start=1):
        record["_rev"] = f"1-{rev:032x}"
        record["_revisions"] = {"start": 1, "ids": [f"{rev:032x}"]}
    records = {
        "next handoff": next_a,
        "next photo": photo_next,
        "document": doc_a,
        "seal": seal_a,
        "handoff": handoff_a,
        "photo": photo_a,
        "other": doc_b,
    }
    return World(settings, tokens, records)


_ADMINS: dict[tuple[str, str, str], httpx.Client] = {}


@contextmanager
def _admin(settings: Settings) -> Iterator[httpx.Client]:
    """One client per database server, kept open: a new client for every look cost a TLS context (about
    0.1 s), which was most of the fuzz run's time."""
    ident = (settings.couchdb_url, settings.couchdb_user or "", settings.couchdb_password or "")
    if ident not in _ADMINS:
        _ADMINS[ident] = httpx.Client(base_url=ident[0], auth=(ident[1], ident[2]))
    yield _ADMINS[ident]


@pytest.fixture(autouse=True, scope="module")
def _close_admins() -> Iterator[None]:
    yield
    for client in _ADMINS.values():
        client.close()
    _ADMINS.clear()


#: Documents a refusal is meant to write: attempt counters and challenges (identity), hit counters (office).
LOG_PREFIXES = ("ratelimit:", "challenge:", "rate:")


def stored(settings: Settings, databases: tuple[str, ...]) -> dict[str, str]:
    """Every document (id -> revision) of the databases, logs of attempts left out."""
    out: dict[str, str] = {}
    with _admin(settings) as admin:
        for name in databases:
            rows = admin.get(f"/{name}/_all_docs").json()["rows"]
            out |= {
                f"{name}/{row['id']}": row["value"]["rev"]
                for row in rows
                if not row["id"].startswith(LOG_PREFIXES)
            }
    return out


def local_checkpoints(settings: Settings) -> dict[str, str]:
    with _admin(settings) as admin:
        response = admin.get(f"/{settings.records_db}/_local_docs")
        if response.status_code != 200:
            return {}
        return {row["id"]: row["value"]["rev"] for row in response.json().get("rows", [])}


def assert_answered(response: httpx.Response, call: Any) -> None:
    """No 5xx; a 4xx says why, in JSON or on a page."""
    assert response.status_code < 500, (call, response.status_code, response.text[:300])
    if not 400 <= response.status_code < 500:
        return
    kind = response.headers.get("content-type", "")
    if kind.startswith("application/json"):
        answer = response.json()
        assert isinstance(answer.get("error"), str) and answer["error"], (call, answer)
        assert isinstance(answer.get("reason"), str) and answer["reason"].strip(), (call, answer)
    else:
        assert kind.startswith("text/html"), (call, kind)
        assert re.search(r"<main|<p", response.text) and len(response.text.strip()) > 200, (
            call,
            response.text,
        )


def refused_everything(response: httpx.Response) -> bool:
    """The whole request refused (the `_bulk_docs` answer to a batch is judged per record instead)."""
    return response.status_code >= 400


def refused_records(call: Call, response: httpx.Response) -> set[str] | None:
    """The ids `_bulk_docs` answered with an error and sent once (None when the batch was not read)."""
    if not (call.path.endswith("/_bulk_docs") and response.status_code == 201):
        return None
    sent = json.loads(call.content or b"{}")["docs"]
    ids = [doc.get("_id") for doc in sent if isinstance(doc, dict)]
    return {str(item["id"]) for item in response.json() if "error" in item and ids.count(item.get("id")) == 1}


# --- the sync gateway -----------------------------------------------------------------------------------


def sync_calls(world: World) -> st.SearchStrategy[Call]:
    rec = world.records
    pushable = [mutated(rec["next handoff"]), mutated(rec["next photo"])]
    docs = st.lists(
        st.one_of(*pushable, *pushable, *(mutated(record) for record in rec.values()), JSON_VALUES),
        min_size=0,
        max_size=3,
    )
    bulk_docs = st.fixed_dictionaries(
        {"docs": docs, "new_edits": st.one_of(st.just(False), st.just(False), st.booleans(), JSON_VALUES)}
    )
    ids = st.one_of(st.sampled_from([r["_id"] for r in rec.values()]), NASTY_TEXT)
    revs = st.lists(st.one_of(st.sampled_from(["1-" + "a" * 32, "2-x"]), NASTY_TEXT, JSON_VALUES), max_size=3)
    revs_diff = st.dictionaries(ids, st.one_of(revs, JSON_VALUES), max_size=4)
    bulk_get = st.fixed_dictionaries(
        {
            "docs": st.lists(
                st.fixed_dictionaries({"id": ids}, optional={"rev": QUERY_VALUES}) | JSON_VALUES, max_size=4
            )
        }
    )
    purge = st.fixed_dictionaries({"ids": st.lists(ids | JSON_VALUES, max_size=5)}) | JSON_VALUES
    checkpoint = st.fixed_dictionaries(
        {"_id": NASTY_TEXT, "last_seq": QUERY_VALUES},
        optional={"_rev": QUERY_VALUES, "history": JSON_VALUES, "session_id": QUERY_VALUES},
    )

    def post(route: str, shaped: st.SearchStrategy[Any]) -> st.SearchStrategy[Call]:
        return st.builds(
            Call,
            st.just("POST"),
            st.just(f"/sync/records/{route}"),
            st.dictionaries(
                st.sampled_from(["revs", "latest", "attachments", "new_edits"]), QUERY_VALUES, max_size=2
            ),
            body_bytes(shaped),
            CONTENT_TYPES,
        )

    changes = st.builds(
        Call,
        st.just("GET"),
        st.just("/sync/records/_changes"),
        st.dictionaries(
            st.sampled_from(
                ["since", "limit", "feed", "timeout", "heartbeat", "style", "include_docs", "filter"]
            ),
            QUERY_VALUES,
            max_size=4,
        ).map(lambda q: q | ({"timeout": "1"} if q.get("feed") == "longpoll" else {})),
    )
    local = st.builds(
        Call,
        st.sampled_from(["GET", "PUT", "DELETE"]),
        st.one_of(NASTY_TEXT, st.just("client-1")).map(lambda name: f"/sync/records/_local/{segment(name)}"),
        st.dictionaries(st.just("rev"), QUERY_VALUES, max_size=1),
        body_bytes(checkpoint),
        CONTENT_TYPES,
    )
    single = st.builds(
        Call,
        st.sampled_from(["GET", "GET", "PUT", "DELETE", "POST"]),
        ids.map(lambda doc_id: f"/sync/records/{segment(doc_id)}"),
        st.dictionaries(
            st.sampled_from(["rev", "revs", "open_revs", "latest", "attachments", "conflicts", "revs_info"]),
            QUERY_VALUES,
            max_size=3,
        ),
        body_bytes(mutated(rec["document"])),
        CONTENT_TYPES,
    )
    attachment = st.builds(
        Call,
        st.sampled_from(["PUT", "PUT", "GET"]),
        st.tuples(ids, st.one_of(st.just("seal.jpg"), NASTY_TEXT)).map(
            lambda pair: f"/sync/records/{segment(pair[0])}/{segment(pair[1])}"
        ),
        st.dictionaries(st.just("rev"), st.one_of(QUERY_VALUES, st.just("1-x")), max_size=1),
        st.one_of(
            st.binary(max_size=256), st.just(photo_bytes(3000)), st.just(b"\xff\xd8\xff" + b"\x00" * 40)
        ),
        st.sampled_from(["image/jpeg", "image/webp", "application/json", "text/html", None]),
    )
    return st.one_of(
        post("_bulk_docs", bulk_docs),
        post("_bulk_docs", bulk_docs),
        changes,
        post("_revs_diff", revs_diff),
        post("_bulk_get", bulk_get),
        post("_segel/purge", purge),
        changes,
        local,
        single,
        attachment,
    )


def send(client: TestClient, call: Call, headers: dict[str, str]) -> httpx.Response:
    sent = dict(headers)
    if call.content_type:
        sent["Content-Type"] = call.content_type
    return client.request(
        call.method,
        call.path,
        params=call.params,
        content=call.content if call.method in ("POST", "PUT") else None,
        headers=sent,
        follow_redirects=False,
    )


@pytest.fixture
def no_raise(client: TestClient) -> Iterator[TestClient]:
    """The app's own 500 page instead of the exception: what a real client would get."""
    client.raise_server_exceptions = False
    yield client


async def test_fuzzed_sync_requests_never_fail_and_refusals_store_nothing(
    no_raise: TestClient, couch: CouchClient, settings: Settings
) -> None:
    world = await _world(couch, settings)
    databases = (settings.records_db,)

    @budget(120)
    @given(
        who=st.sampled_from(["courier", "courier", "staff", "forged", "anonymous"]), call=sync_calls(world)
    )
    def attempt(who: str, call: Call) -> None:
        before = stored(settings, databases)
        checkpoints = local_checkpoints(settings) if "_local" in call.path else {}
        response = send(no_raise, call, world.tokens[who])
        assert_answered(response, (who, call))
        if refused_everything(response):
            assert stored(settings, databases) == before, (who, call, response.text[:300])
        refused = refused_records(call, response)
        if refused:  # an accepted record of the same batch may be stored; a refused one is not
            after = stored(settings, databases)
            for doc_id in refused:
                name = f"{settings.records_db}/{doc_id}"
                assert after.get(name) == before.get(name), (who, call, response.text[:300])
        if refused_everything(response) and checkpoints:
            assert local_checkpoints(settings) == checkpoints, (who, call)
        if who in ("forged", "anonymous"):
            assert response.status_code == 401, (who, call)

    attempt()


# --- identity ceremony steps ----------------------------------------------------------------------------


def identity_calls(enroll_token: str) -> st.SearchStrategy[Call]:
    b64 = st.one_of(NASTY_TEXT, st.binary(max_size=40).map(lambda raw: raw.hex()))
    credential = st.fixed_dictionaries(
        {},
        optional={
            "id": b64,
            "rawId": b64,
            "type": st.one_of(st.just("public-key"), NASTY_TEXT),
            "response": st.fixed_dictionaries(
                {},
                optional={
                    "clientDataJSON": b64,
                    "authenticatorData": b64,
                    "signature": b64,
                    "attestationObject": b64,
                    "userHandle": b64,
                    "transports": JSON_VALUES,
                },
            )
            | JSON_VALUES,
        },
    )
    step = st.fixed_dictionaries(
        {},
        optional={
            "credential": credential | JSON_VALUES,
            "token": st.one_of(st.just(enroll_token), NASTY_TEXT, JSON_VALUES),
            "label": JSON_VALUES,
            "record": JSON_VALUES,
            "next": NASTY_TEXT,
        },
    )
    json_steps = st.builds(
        Call,
        st.just("POST"),
        st.sampled_from(
            [
                "/auth/login/options",
                "/auth/login/verify",
                "/auth/enroll/options",
                "/auth/enroll/verify",
            ]
        ),
        st.just({}),
        body_bytes(step),
        CONTENT_TYPES,
    )
    pages = st.builds(
        Call,
        st.sampled_from(["GET", "POST"]),
        st.one_of(
            NASTY_TEXT.map(lambda token: f"/auth/enroll/{segment(token)}"),
            st.sampled_from(["/auth/me", "/auth/login", "/auth/logout", "/auth/office/users"]),
        ),
        st.dictionaries(st.sampled_from(["next", "token"]), NASTY_TEXT, max_size=1),
        st.one_of(st.binary(max_size=40), JSON_VALUES.map(as_json)),
        st.sampled_from(["application/x-www-form-urlencoded", "application/json", None]),
    )
    return st.one_of(json_steps, json_steps, pages)


async def test_fuzzed_identity_steps_never_fail_and_refusals_store_nothing(
    no_raise: TestClient, couch: CouchClient, settings: Settings
) -> None:
    world = await _world(couch, settings)
    await make_user(couch, settings, "kurir.baru", "courier")
    token = await enrollment_token(couch, settings, "kurir.baru")
    cookie = await open_session(couch, settings, "budi.santoso")
    databases = (settings.identity_db,)
    sessions = {
        "anonymous": {},
        "staff": {"Cookie": f"segel_session={cookie}", "Origin": settings.origin},
        "foreign origin": {"Cookie": f"segel_session={cookie}", "Origin": "https://evil.example"},
        "courier token": world.tokens["courier"],
    }

    @budget(100)
    @given(who=st.sampled_from(sorted(sessions)), call=identity_calls(token))
    def attempt(who: str, call: Call) -> None:
        no_raise.cookies.clear()
        before = stored(settings, databases)
        response = send(no_raise, call, sessions[who])
        assert_answered(response, (who, call))
        if refused_everything(response):
            assert stored(settings, databases) == before, (who, call, response.text[:300])

    attempt()


# --- office forms and residents' links ------------------------------------------------------------------


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


FORM_TEXT = st.one_of(
    NASTY_TEXT, st.integers().map(str), st.sampled_from(["-1.27", "116.8", "999", "BP00000001"])
)


def form_fields(base: dict[str, str], extra: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    names = st.sampled_from(sorted(set(base) | set(extra)))
    edits = st.dictionaries(names, st.one_of(FORM_TEXT, st.just("\x00drop")), max_size=4)

    def apply(changes: dict[str, str]) -> dict[str, str]:
        fields = dict(base)
        for name, value in changes.items():
            if value == "\x00drop":
                fields.pop(name, None)
            else:
                fields[name] = value
        return fields

    return edits.map(apply)


@dataclass(frozen=True)
class FormCall:
    path: str
    fields: dict[str, str]
    csrf: str  # "good", "none" or a forged value


def office_calls(document_id: str, link: str) -> st.SearchStrategy[FormCall]:
    csrf = st.one_of(st.just("good"), st.just("good"), st.just("none"), NASTY_TEXT)
    document = form_fields(document_fields(), ("doc_kind", "delivery"))
    seal = form_fields({"document_id": document_id, "seal_number": "BP00000077"}, ())
    resolve = form_fields(
        {"kind": "photo_missing", "subject": document_id, "action": "resolve", "note": "x"}, ()
    )
    lost = form_fields({"note": "hilang di jalan"}, ())
    resident = form_fields(
        {"kind": "seal_broken", "description": "segel sobek", "delivery": "self_pickup"}, ()
    )
    doc_path = st.one_of(
        st.just(document_id), NASTY_TEXT.filter(lambda s: "/" not in s and s not in ("", ".", ".."))
    )
    token = st.one_of(st.just(link), NASTY_TEXT.filter(lambda s: "/" not in s and s not in ("", ".", "..")))
    return st.one_of(
        st.builds(FormCall, st.just("/office/intake/document"), document, csrf),
        st.builds(FormCall, st.just("/office/intake/seal"), seal, csrf),
        st.builds(FormCall, st.just("/office/exceptions/resolve"), resolve, csrf),
        st.builds(FormCall, doc_path.map(lambda d: f"/office/documents/{segment(d)}/lost"), lost, csrf),
        st.builds(
            FormCall,
            st.tuples(token, st.sampled_from(["confirm", "delivery", "complaint", ""])).map(
                lambda pair: f"/r/{segment(pair[0])}/{pair[1]}".rstrip("/")
            ),
            resident,
            csrf,
        ),
    )


async def test_fuzzed_office_forms_and_resident_links_never_fail_and_refusals_store_nothing(
    no_raise: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await _world(couch, settings)
    ledger = await ready_ledger(couch, settings)
    document = await put_document(ledger, name="Siti Aminah")
    link = await issue_link(ledger, document)
    cookies = {
        "staff": await open_session(couch, settings, "budi.santoso"),
        "courier": await open_session(couch, settings, "kurir.a"),
        "anonymous": "",
    }
    databases = (settings.records_db, ledger.office.name)
    csrf_pages: dict[str, Callable[[], str]] = {
        "office": lambda: csrf_of(no_raise.get("/office/intake").text),
        "resident": lambda: csrf_of(no_raise.get(f"/r/{link}").text),
    }

    @budget(60)
    @given(who=st.sampled_from(sorted(cookies)), call=office_calls(str(document["_id"]), link))
    def attempt(who: str, call: FormCall) -> None:
        no_raise.cookies.clear()
        if cookies[who]:
            no_raise.cookies.set("segel_session", cookies[who])
        fields = dict(call.fields)
        if call.csrf == "good":
            page = "resident" if call.path.startswith(f"/r/{link}") else "office"
            if who == "staff" or page == "resident":
                fields["csrf"] = csrf_pages[page]()
        elif call.csrf != "none":
            fields["csrf"] = call.csrf
        before = stored(settings, databases)
        if call.path.count("/") == 2 and call.path.startswith("/r/"):
            response = no_raise.get(call.path)
        else:
            response = no_raise.post(
                call.path, data=fields, headers={"Origin": settings.origin}, follow_redirects=False
            )
        assert_answered(response, (who, call))
        if refused_everything(response):
            assert stored(settings, databases) == before, (who, call, response.text[:300])

    attempt()


# --- what the fuzzing found -----------------------------------------------------------------------------


async def test_a_malformed_open_revs_is_a_400_alike_for_hidden_and_missing_records(
    no_raise: TestClient, couch: CouchClient, settings: Settings
) -> None:
    """Found by the fuzzing: `open_revs=_design/records` reached the database, whose 400 the gateway
    answered as its own failure (502, which PouchDB retries for ever)."""
    world = await _world(couch, settings)
    mine, hidden = world.records["handoff"]["_id"], world.records["other"]["_id"]
    missing = mine[:-4] + "ZZZZ"
    for params in ({"open_revs": "_design/records"}, {"rev": "x"}, {"revs": "yes"}, {"atts_since": "[1]"}):
        answers = {
            doc_id: no_raise.get(f"/sync/records/{doc_id}", params=params, headers=world.tokens["courier"])
            for doc_id in (mine, hidden, missing)
        }
        assert answers[mine].status_code == 400 and answers[mine].json()["error"] == "bad_request", params
        assert answers[hidden].json() == answers[missing].json(), params
    good = no_raise.get(f"/sync/records/{mine}", params={"open_revs": "all"}, headers=world.tokens["courier"])
    assert good.status_code == 200 and good.json()[0]["ok"]["_id"] == mine
