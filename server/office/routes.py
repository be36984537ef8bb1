"""Office pages: thin handlers (parse, call a service, render). Every one asks `require` first.

Staff act for their own office only; admins pick one with `?office=`. A record of another office answers
403 before anything of it is read into the page.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from records.nik import mask_nik
from records.principal import Role
from records.types import JSONDict
from server.access import require
from server.errors import AppError
from server.i18n import N_
from server.i18n import gettext as _
from server.identity.enrollment import qr_svg
from server.identity.store import IdentityStore
from server.local_time import local_today
from server.office import exports, intake, search
from server.office.assignees import Assignee, assignee_for, assignees_of
from server.office.attachments import complaint_photo, complaint_photo_url, stream_image
from server.office.conflict_values import field_words
from server.office.conflicts import ConflictError, load_revisions, own_revisions, resolve_conflict
from server.office.dashboard import TILE_KINDS, TILE_LABELS, chart_bars, load_dashboard, overdue_rows
from server.office.exceptions import KINDS, ResolutionError, resolve
from server.office.finding_texts import finding_text
from server.office.handover import (
    DOC_KIND_LABELS,
    Courier,
    HandoverRefused,
    ReportParties,
    confirm_handover,
    confirmation_id,
    confirmation_of,
    create_handover,
    render_report,
    seal_numbers,
    waiting_for,
)
from server.office.intake import IntakeError
from server.office.ledger import Ledger, docs_by_ids, key
from server.office.lost import LostError, record_lost, record_reprint
from server.office.message_catalogue import label_of
from server.office.notifications import OutboxError, dead_letters, enqueue, resend
from server.office.open_items import anchor_of
from server.office.people import people_of
from server.office.queue import load_page
from server.office.queue_filter import AGES, PARTNERS, FilterError, QueueFilter, page_links
from server.office.timeline import (
    CONDITION_LABELS,
    PARTY_LABELS,
    has_photo,
    judge_unchecked,
    load_timeline,
)
from server.office.visits import OUTCOME_LABELS, OUTCOMES, VisitDayError, checked_day, load_day, load_visits
from server.office.web import (
    NOT_FOUND_REASON,
    OFFICE_ROLES,
    checked_form,
    config_of,
    ledger_of,
    office_zone_of,
    render,
    staff_for_office,
    staff_for_record,
    text,
)
from server.residents.links import issue_link


def identity_of(request: Request) -> IdentityStore:
    return IdentityStore(request.app.state.couch, request.app.state.settings)


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


async def _record(request: Request, ledger: Ledger, record_id: str, prefix: str) -> JSONDict:
    """The record, for staff of its office only: the role is checked before anything is read, and another
    office's record answers exactly like a missing one."""
    require(request, *OFFICE_ROLES)
    doc = await ledger.records.get_or_none(record_id) if record_id.startswith(prefix) else None
    if doc is None:
        raise AppError(404, "not_found", NOT_FOUND_REASON)
    staff_for_record(request, str(doc.get("office") or ""))
    return doc


# --- dashboard -------------------------------------------------------------------------------------------


async def dashboard(request: Request) -> Response:
    _, office = staff_for_office(request)
    config = config_of(request)
    ledger = ledger_of(request)
    # Figures as `segel worker` last wrote them (deliveries count once it has judged them): a page load
    # writes nothing.
    data = await load_dashboard(ledger, office, sla_hours=config.sla_hours)
    return render(
        request,
        "office/dashboard.html",
        {
            "office": office,
            "office_zone": await office_zone_of(request, office),
            "d": data,
            "kinds": TILE_KINDS,
            "labels": TILE_LABELS,
            "chart": chart_bars(data),
            "overdue": await overdue_rows(ledger, data.overdue, DOC_KIND_LABELS),
            # Couriers by name: the figures are keyed by user id, which nobody at the desk reads.
            "people": people_of(await identity_of(request).users_of_office(office)),
        },
    )


# --- intake ----------------------------------------------------------------------------------------------


async def _intake_page(request: Request, office: str, status: int = 200, **context: object) -> Response:
    documents, _ = await search.newest_documents(ledger_of(request), office, 0)
    return render(
        request,
        "office/intake.html",
        {
            "office": office,
            "office_zone": await office_zone_of(request, office),
            "documents": documents,
            "kinds": DOC_KIND_LABELS,
            "assignees": await assignees_of(identity_of(request), office),
            "people": people_of(await identity_of(request).users_of_office(office)),
            "columns": intake.CSV_COLUMNS,
            **context,
        },
        status,
    )


async def intake_page(request: Request) -> Response:
    _, office = staff_for_office(request)
    return await _intake_page(request, office, message=request.query_params.get("ok"))


async def _welcome(request: Request, ledger: Ledger, document: JSONDict) -> None:
    """Give the resident their link and tell them the document is ready."""
    token = await issue_link(ledger, document)
    await enqueue(ledger, "document_ready", document, f"{request.app.state.settings.origin}/r/{token}")


async def register_document(request: Request) -> Response:
    principal, office = staff_for_office(request)
    form = await checked_form(request, principal)
    fields = {name: text(form, name) for name in intake.CSV_COLUMNS}
    doc, errors = intake.document_from_fields(fields, office, principal.user_id)
    if errors:
        return await _intake_page(request, office, 400, errors=errors, values=fields)
    ledger = ledger_of(request)
    await intake.register_documents(ledger, [doc])
    await _welcome(request, ledger, doc)
    return _see_other(f"/office/documents/{doc['_id']}")


async def import_csv(request: Request) -> Response:
    principal, office = staff_for_office(request)
    form = await checked_form(request, principal)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return await _intake_page(request, office, 400, error=_("Pilih berkas CSV dari sistem cetak."))
    raw = await upload.read()
    await form.close()
    try:
        report = intake.parse_csv(raw.decode("utf-8"), office, principal.user_id)
    except UnicodeDecodeError:
        return await _intake_page(
            request, office, 400, error=_("Berkas bukan teks UTF-8; simpan ulang sebagai CSV UTF-8.")
        )
    except IntakeError as exc:
        return await _intake_page(request, office, 400, error=exc.reason)
    ledger = ledger_of(request)
    await intake.register_documents(ledger, report.accepted)
    for doc in report.accepted:
        await _welcome(request, ledger, doc)
    return render(request, "office/import_report.html", {"office": office, "report": report})


async def bind_seal(request: Request) -> Response:
    principal, office = staff_for_office(request)
    form = await checked_form(request, principal)
    try:
        await intake.bind_seal(
            ledger_of(request), principal, text(form, "document_id"), text(form, "seal_number")
        )
    except IntakeError as exc:
        return await _intake_page(request, office, 400, error=exc.reason)
    # No #flash here: a fragment would stop the seal field's autofocus, and the scanner types the next seal
    # into it; the message sits just above the field, in view.
    return _see_other(f"/office/intake?ok=segel&office={office}")


async def assign(request: Request) -> Response:
    principal, office = staff_for_office(request)
    form = await checked_form(request, principal)
    ids = [value for value in form.getlist("document_id") if isinstance(value, str) and value]
    if not ids:
        return await _intake_page(request, office, 400, error=_("Centang dokumen yang akan ditugaskan."))
    try:
        # The partner comes from the courier's own record; a "partner" field in the form is ignored.
        courier = await assignee_for(identity_of(request), office, text(form, "courier"))
        await intake.assign(
            ledger_of(request),
            principal,
            ids,
            courier.user_id,
            courier.partner,
            text(form, "batch") or None,
            office=office,
        )
    except IntakeError as exc:
        return await _intake_page(request, office, 400, error=exc.reason)
    return _see_other(f"/office/intake?ok=tugas&office={office}")


# --- timeline and photos ---------------------------------------------------------------------------------


async def documents_page(request: Request) -> Response:
    """Find a document (receipt code, NIK, phone, name, scanned seal) or page through the newest ones."""
    _, office = staff_for_office(request)
    ledger = ledger_of(request)
    query = request.query_params.get("q", "").strip()[:100]
    page = _page(request)
    if query:
        documents, older = await search.find_documents(ledger, office, query), False
    else:
        documents, older = await search.newest_documents(ledger, office, page)
    return render(
        request,
        "office/documents.html",
        {
            "office": office,
            "office_zone": await office_zone_of(request, office),
            "q": query,
            "page": page,
            "older": older,
            "documents": documents,
            "statuses": await search.statuses(ledger, documents),
            "kinds": DOC_KIND_LABELS,
            "mask_nik": mask_nik,
            "people": people_of(await identity_of(request).users_of_office(office)),
        },
    )


async def timeline(request: Request) -> Response:
    ledger = ledger_of(request)
    document = await _record(request, ledger, request.path_params["document_id"], "document:")
    staff_for_record(request, str(document["office"]))
    # Deliveries the worker has not judged yet are judged in memory for this page, and written by no one
    # but the worker (which also raises their findings and tells the resident).
    data = judge_unchecked(await load_timeline(ledger, document), request.app.state.receipt_key)
    pickup = next((e for e in data.events if e.handoff["kind"] == "picked_up" and e.photos), None)
    delivery = next((e for e in reversed(data.events) if e.handoff["kind"] == "delivered" and e.photos), None)
    return render(
        request,
        "office/timeline.html",
        {
            "office": str(document["office"]),  # the menu of an admin stays with the document's office
            "office_zone": await office_zone_of(request, str(document["office"])),
            "t": data,
            "doc": document,
            "kinds": DOC_KIND_LABELS,
            "conditions": CONDITION_LABELS,
            "parties": PARTY_LABELS,
            "pickup": pickup,
            "delivery": delivery,
            "has_photo": has_photo,
            "complaint_photo": complaint_photo,
            "complaint_photo_url": complaint_photo_url,
            "finding_text": finding_text,
            # Couriers and staff by name: the records name them by user id.
            "people": people_of(await identity_of(request).users_of_office(str(document["office"]))),
        },
    )


async def photo(request: Request) -> Response:
    require(request, *OFFICE_ROLES)
    ledger = ledger_of(request)
    record = await _record(request, ledger, request.path_params["photo_id"], "photo:")
    staff_for_record(request, str(record["office"]))
    name = str(record["attachment"])
    if name not in (record.get("_attachments") or {}):
        raise AppError(404, "not_found", N_("Foto ini belum sampai di server (ponsel belum sinkron)."))
    return await stream_image(ledger.records, str(record["_id"]), name, str(record["content_type"]))


async def complaint_photo_route(request: Request) -> Response:
    """The photo a resident (or staff) attached to a complaint, for staff of the complaint's office only."""
    require(request, *OFFICE_ROLES)
    ledger = ledger_of(request)
    complaint = await _record(request, ledger, request.path_params["complaint_id"], "complaint:")
    staff_for_record(request, str(complaint["office"]))
    if complaint_photo(complaint) != "held":
        raise AppError(404, "not_found", N_("Pengaduan ini tidak membawa foto, atau fotonya belum sampai."))
    name = str(complaint["photo_attachment"])
    content_type = str(complaint["_attachments"][name].get("content_type"))
    return await stream_image(ledger.records, str(complaint["_id"]), name, content_type)


# --- exceptions and conflicts ----------------------------------------------------------------------------


async def exceptions_page(request: Request) -> Response:
    _, office = staff_for_office(request)
    return await _exceptions_page(request, office)


def _queue_url(
    office: str, wanted: QueueFilter, changes: dict[str, str | int | None], path: str = "/office/exceptions"
) -> str:
    """The queue's address under `wanted` with `changes` (a bookmarkable view), for links and forms."""
    return f"{path}?{urlencode({'office': office, **wanted.params(**changes)})}"


async def _exceptions_page(request: Request, office: str, status: int = 200, **context: object) -> Response:
    """The queue under the filter in the address, one page of it, with the counts per kind as the kind
    filter's choices (as `segel worker` found it: this page sends and checks nothing)."""
    try:
        wanted = QueueFilter.parse(request.query_params)
    except FilterError as exc:
        raise AppError(400, "bad_request", exc.reason) from exc
    ledger = ledger_of(request)
    zone = await office_zone_of(request, office)
    people = people_of(await identity_of(request).users_of_office(office))
    page = await load_page(ledger, office, wanted, people, zone)
    couriers = sorted(
        (p for p in people.values() if p.role == "courier"), key=lambda p: (p.name.lower(), p.user_id)
    )

    def url(**changes: str | int | None) -> str:
        return _queue_url(office, wanted, changes)

    return render(
        request,
        "office/exceptions.html",
        {
            "office": office,
            "office_zone": zone,
            "q": page,
            "f": wanted,
            "url": url,
            "resolve_url": _queue_url(office, wanted, {"page": page.page}, "/office/exceptions/resolve"),
            "page_links": page_links(page.page, page.pages),
            "couriers": couriers,
            "partners": PARTNERS,
            "ages": AGES,
            "doc_kinds": DOC_KIND_LABELS,
            "more": sorted(KINDS[kind][0] for kind in page.more),
            "done": request.query_params.get("ok"),
            "at": request.query_params.get("at"),
            "dead": await dead_letters(ledger, office),
            "message_label": label_of,
            **context,
        },
        status,
    )


async def resend_message(request: Request) -> Response:
    """Send a dead letter again (its tries start afresh); only staff of the message's office may."""
    principal, office = staff_for_office(request)
    await checked_form(request, principal)
    try:
        await resend(ledger_of(request), request.path_params["message_id"], office, principal.user_id)
    except OutboxError as exc:
        code = "not_found" if exc.status == 404 else "conflict"
        raise AppError(exc.status, code, exc.reason) from exc
    return _see_other(f"/office/exceptions?ok=kirim&office={office}#flash")


#: The element id of a queue item (server/office/open_items.anchor_of), as a form hands it back.
_ANCHOR = re.compile(r"^q-[0-9a-f]{12}$")


async def resolve_exception(request: Request) -> Response:
    """Close one item, then back to the same filter and page, at the item that followed it, with the
    message there in view; a refusal shows the same page with the reason at the item and its note kept."""
    principal, office = staff_for_office(request)
    form = await checked_form(request, principal)
    kind, subject = text(form, "kind"), text(form, "subject")
    try:
        wanted = QueueFilter.parse(request.query_params)
        resolution = await resolve(
            ledger_of(request),
            principal,
            kind,
            subject,
            text(form, "action"),
            text(form, "note"),
            seal_number=text(form, "seal_number"),
        )
    except (ResolutionError, FilterError) as exc:
        kept = {"note": text(form, "note"), "seal_number": text(form, "seal_number")}
        return await _exceptions_page(
            request, office, 400, error=exc.reason, error_at=anchor_of(f"{kind}:{subject}"), kept=kept
        )
    done = "cetak" if (resolution.get("loss") or {}).get("new_seal") else "1"
    changes: dict[str, str | int | None] = {"page": wanted.page, "ok": done}
    if _ANCHOR.match(text(form, "next")):
        changes["at"] = text(form, "next")
    return _see_other(_queue_url(office, wanted, changes) + "#flash")


async def conflict_page(request: Request) -> Response:
    require(request, *OFFICE_ROLES)
    ledger = ledger_of(request)
    record_id = request.path_params["record_id"]
    try:
        current, revisions = await load_revisions(ledger, record_id)
    except ConflictError as exc:
        raise AppError(404, "not_found", NOT_FOUND_REASON) from exc
    revisions = own_revisions(staff_for_record(request, str(current.get("office"))), revisions)
    fields = sorted({k for r in revisions for k in r if not k.startswith("_")})
    zone = await office_zone_of(request, str(current.get("office")))
    rows = []
    for name in fields:
        stored = [json.dumps(r.get(name), ensure_ascii=False, sort_keys=True) for r in revisions]
        shown = [field_words(name, r[name], zone) if name in r else "-" for r in revisions]
        rows.append((name, shown, len(set(stored)) > 1))
    return render(
        request,
        "office/conflict.html",
        {"office": current.get("office"), "record_id": record_id, "revisions": revisions, "rows": rows},
    )


async def resolve_conflict_route(request: Request) -> Response:
    require(request, *OFFICE_ROLES)
    ledger = ledger_of(request)
    record_id = request.path_params["record_id"]
    current = await ledger.records.get_or_none(record_id)
    if current is None:
        raise AppError(404, "not_found", NOT_FOUND_REASON)
    principal = staff_for_record(request, str(current.get("office")))
    form = await checked_form(request, principal)
    try:
        await resolve_conflict(ledger, principal, record_id, text(form, "winner_rev"), text(form, "note"))
    except ConflictError as exc:
        raise AppError(400, "bad_request", exc.reason) from exc
    return _see_other(f"/office/exceptions?ok=1&office={current.get('office')}#flash")


# --- lost documents --------------------------------------------------------------------------------------


async def lost(request: Request) -> Response:
    ledger = ledger_of(request)
    document = await _record(request, ledger, request.path_params["document_id"], "document:")
    principal = staff_for_record(request, str(document["office"]))
    form = await checked_form(request, principal)
    try:
        await record_lost(ledger, principal, document, text(form, "note"))
    except (LostError, IntakeError) as exc:
        raise AppError(400, "bad_request", exc.reason) from exc
    return _see_other(f"/office/documents/{document['_id']}")


async def reprint(request: Request) -> Response:
    ledger = ledger_of(request)
    document = await _record(request, ledger, request.path_params["document_id"], "document:")
    principal = staff_for_record(request, str(document["office"]))
    form = await checked_form(request, principal)
    try:
        await record_reprint(ledger, principal, document, text(form, "seal_number"), text(form, "note"))
    except (LostError, IntakeError) as exc:
        raise AppError(400, "bad_request", exc.reason) from exc
    return _see_other(f"/office/documents/{document['_id']}")


# --- drive-thru handover ---------------------------------------------------------------------------------


async def handovers_page(request: Request, status: int = 200, **context: object) -> Response:
    _, office = staff_for_office(request)
    ledger = ledger_of(request)
    page = _page(request)
    rows = await ledger.office.view(
        "office",
        "handovers",
        startkey=key([office, {}]),
        endkey=key([office]),
        descending=True,
        include_docs=True,
        skip=page * HANDOVERS_PER_PAGE,
        limit=HANDOVERS_PER_PAGE + 1,
    )
    handovers = [r["doc"] for r in rows["rows"]][:HANDOVERS_PER_PAGE]
    confirmations = await docs_by_ids(ledger.office, [confirmation_id(h) for h in handovers])
    return render(
        request,
        "office/handovers.html",
        {
            "office": office,
            "handovers": handovers,
            "confirmations": {h["_id"]: confirmations.get(confirmation_id(h)) for h in handovers},
            "page": page,
            "older": len(rows["rows"]) > HANDOVERS_PER_PAGE,
            "couriers": await _couriers(request, office),
            **context,
        },
        status,
    )


async def _couriers(request: Request, office: str) -> list[Assignee]:
    """The couriers a handover may name: the office's partner couriers (staff cannot confirm on a phone)."""
    return [a for a in await assignees_of(identity_of(request), office) if a.partner != "office"]


#: Handover reports per page of the list, newest first.
HANDOVERS_PER_PAGE = 20


def _page(request: Request) -> int:
    """The `page` query parameter (0 = newest); anything else than a whole number is the first page."""
    try:
        return max(int(request.query_params.get("page", "0")), 0)
    except ValueError:
        return 0


async def create_handover_route(request: Request) -> Response:
    principal, office = staff_for_office(request)
    form = await checked_form(request, principal)
    ledger = ledger_of(request)
    numbers = seal_numbers(text(form, "seals"))
    kept = {"courier": text(form, "courier"), "seals": "\n".join(numbers)}
    try:
        chosen = await assignee_for(identity_of(request), office, text(form, "courier"))
        if chosen.partner == "office":
            raise IntakeError(
                f"{chosen.name} adalah petugas kantor, bukan kurir mitra; pilih kurir yang menjemput amplop."
            )
        courier = Courier(chosen.user_id, chosen.name, chosen.partner)
        handover = await create_handover(ledger, principal, office, courier, numbers)
    except HandoverRefused as exc:
        return await handovers_page(request, 400, error=exc.reason, scanned=exc.scanned, **kept)
    except IntakeError as exc:
        return await handovers_page(request, 400, error=exc.reason, **kept)
    return _see_other(f"/office/handovers/{handover['_id']}")


async def _handover(request: Request, *roles: Role) -> tuple[Ledger, JSONDict]:
    require(request, *roles)  # before the read: the role answer never depends on whether it exists
    ledger = ledger_of(request)
    handover_id = request.path_params["handover_id"]
    doc = await ledger.office.get_or_none(handover_id) if handover_id.startswith("handover:") else None
    if doc is None:
        raise AppError(404, "not_found", NOT_FOUND_REASON)
    return ledger, doc


async def _parties(request: Request, handover: JSONDict, confirmation: JSONDict | None) -> ReportParties:
    """The office, officer and courier by name: the office's record in the identity database, the names
    stored with the handover (older handovers: the courier's user record), ids only when nothing else is."""
    identity = identity_of(request)
    office = await identity.get_office(str(handover["office"]))
    courier_name = (confirmation or {}).get("courier_name") or handover.get("courier_name")
    if not courier_name:
        user = await identity.get_user(str(handover["courier"]))
        courier_name = (user or {}).get("name") or handover["courier"]
    return ReportParties(
        office_name=str((office or {}).get("name") or f"Kantor {handover['office']}"),
        officer_name=str(handover.get("author_name") or handover["author"]),
        courier_name=str(courier_name),
        zone=await office_zone_of(request, str(handover["office"])),
    )


def confirm_url(request: Request, handover: JSONDict) -> str:
    """The absolute address the courier's phone opens to confirm (the QR code on the staff screen)."""
    return f"{request.app.state.settings.origin}/office/handovers/{handover['_id']}/confirm"


async def handover_page(request: Request) -> Response:
    ledger, handover = await _handover(request, *OFFICE_ROLES)
    staff_for_record(request, str(handover["office"]))
    confirmation = await confirmation_of(ledger, handover)
    url = confirm_url(request, handover)
    return render(
        request,
        "office/handover.html",
        {
            "office": handover["office"],
            "h": handover,
            "confirmation": confirmation,
            "kinds": DOC_KIND_LABELS,
            "parties": await _parties(request, handover, confirmation),
            "confirm_url": url,
            "confirm_qr": None if confirmation else qr_svg(url),
        },
    )


async def handover_pdf(request: Request) -> Response:
    ledger, handover = await _handover(request, *OFFICE_ROLES)
    staff_for_record(request, str(handover["office"]))
    confirmation = await confirmation_of(ledger, handover)
    pdf = render_report(handover, confirmation, await _parties(request, handover, confirmation))
    name = str(handover["_id"]).replace(":", "-")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="BAST-{name}.pdf"'},
    )


async def waiting_handovers(request: Request) -> Response:
    """The signed-in courier's own handovers still to confirm, for the app's "Serah terima" screen.

    Only the courier themself, of their own office; the answer names the office and counts envelopes, and
    holds nothing about the envelopes' residents (least data on the phone).
    """
    principal = require(request, "courier")
    office = str(principal.office)
    waiting = await waiting_for(ledger_of(request), office, principal.user_id)
    record = await identity_of(request).get_office(office)
    office_name = str((record or {}).get("name") or f"Kantor {office}")
    return JSONResponse(
        {"handovers": [{**item, "office_name": office_name} for item in waiting]},
        headers={"Cache-Control": "no-store"},
    )


async def handover_confirm_page(request: Request) -> Response:
    ledger, handover = await _handover(request, "courier")
    principal = require(request, "courier")
    if principal.office != handover["office"]:
        raise AppError(404, "not_found", NOT_FOUND_REASON)
    if principal.user_id != handover["courier"]:
        raise AppError(403, "forbidden", N_("Serah terima ini untuk kurir lain."))
    if request.method == "POST":
        await checked_form(request, principal)
        try:
            await confirm_handover(ledger, principal, handover)
        except IntakeError as exc:
            raise AppError(403, "forbidden", exc.reason) from exc
    confirmation = await confirmation_of(ledger, handover)
    return render(
        request,
        "office/handover_confirm.html",
        {"h": handover, "confirmation": confirmation, "kinds": DOC_KIND_LABELS},
    )


# --- exports and visits ---------------------------------------------------------------------------------


async def export_csv(request: Request) -> Response:
    _, office = staff_for_office(request)
    what = request.path_params["what"]
    makers = {"daily": exports.daily_csv, "couriers": exports.couriers_csv, "partners": exports.partners_csv}
    if what not in makers:
        raise AppError(404, "not_found", N_("Ekspor tersedia: daily, couriers, partners."))
    try:
        days = max(1, min(int(request.query_params.get("days", "14")), 366))
    except ValueError as exc:
        raise AppError(400, "bad_request", "days harus angka 1-366.") from exc
    ledger = ledger_of(request)
    data = await load_dashboard(ledger, office, days=days, sla_hours=config_of(request).sla_hours)
    body = makers[what](data)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="segel-{office}-{what}-{data.days[-1]}.csv"'},
    )


async def export_custody_pdf(request: Request) -> Response:
    ledger = ledger_of(request)
    document = await _record(request, ledger, request.path_params["document_id"], "document:")
    staff_for_record(request, str(document["office"]))
    data = await load_timeline(ledger, document)
    zone = await office_zone_of(request, str(document["office"]))
    return Response(exports.custody_pdf(data, zone), media_type="application/pdf")


async def visits_page(request: Request) -> Response:
    """Two weeks of counts per van and day, and one day's visits in full (`?day=`, else the newest day with
    visits): who was recorded again and why, and recordings made despite the health protocol."""
    _, office = staff_for_office(request)
    zone = await office_zone_of(request, office)
    since = (local_today(zone) - timedelta(days=13)).isoformat()
    rows = await load_visits(ledger_of(request), office, since)
    asked = request.query_params.get("day")
    try:
        day = checked_day(asked) if asked else (rows[0].day if rows else local_today(zone).isoformat())
    except VisitDayError as exc:
        raise AppError(400, "bad_request", str(exc)) from exc
    names = {
        str(u["user_id"]): str(u.get("name") or u["user_id"]) for u in await _office_users(request, office)
    }
    return render(
        request,
        "office/visits.html",
        {
            "office": office,
            "office_zone": zone,
            "rows": rows,
            "since": since,
            "outcomes": OUTCOMES,
            "labels": OUTCOME_LABELS,
            "day": await load_day(ledger_of(request), office, day, names),
        },
    )


async def _office_users(request: Request, office: str) -> list[JSONDict]:
    return await identity_of(request).users_of_office(office)


routes: list[BaseRoute] = [
    Route("/office", dashboard),
    Route("/office/intake", intake_page),
    Route("/office/intake/document", register_document, methods=["POST"]),
    Route("/office/intake/csv", import_csv, methods=["POST"]),
    Route("/office/intake/seal", bind_seal, methods=["POST"]),
    Route("/office/intake/assign", assign, methods=["POST"]),
    Route("/office/documents", documents_page),
    Route("/office/documents/{document_id}", timeline),
    Route("/office/documents/{document_id}/lost", lost, methods=["POST"]),
    Route("/office/documents/{document_id}/reprint", reprint, methods=["POST"]),
    Route("/office/photos/{photo_id}", photo),
    Route("/office/complaints/{complaint_id}/photo", complaint_photo_route),
    Route("/office/exceptions", exceptions_page),
    Route("/office/exceptions/resolve", resolve_exception, methods=["POST"]),
    Route("/office/outbox/{message_id}/resend", resend_message, methods=["POST"]),
    Route("/office/conflicts/{record_id}", conflict_page),
    Route("/office/conflicts/{record_id}/resolve", resolve_conflict_route, methods=["POST"]),
    Route("/office/handovers", handovers_page),
    Route("/office/handovers/new", create_handover_route, methods=["POST"]),
    Route("/office/handovers/waiting", waiting_handovers),
    Route("/office/handovers/{handover_id}/report.pdf", handover_pdf),
    Route("/office/handovers/{handover_id}/confirm", handover_confirm_page, methods=["GET", "POST"]),
    Route("/office/handovers/{handover_id}", handover_page),
    Route("/office/exports/documents/{document_id}.pdf", export_custody_pdf),
    Route("/office/exports/{what}.csv", export_csv),
    Route("/office/visits", visits_page),
]
