"""The words people read, in one gettext catalogue: Bahasa Indonesia first (the source language, the msgids),
English when the person chooses it.

The catalogue is `locale/<lang>/LC_MESSAGES/segel.po` (copied into the wheel as `records/_locale`, see
setup.py), read and compiled in memory on first use by records/texts.py, which the gateway's texts use too:
a clean checkout and an installed wheel both work without a compile step. The same file holds
the PWA's texts (entries with a `pwa:<key>` context), which `pwa/build.mjs` turns into JSON for the app.

The language is per request: `?lang=en` or a `lang` cookie (set by the switch link in the page footer) choose
English, anything else is Indonesian. `LanguageMiddleware` puts it in a context variable, so templates
(Jinja2's i18n extension), PDFs and error messages of one request all speak the same language without the
language being passed around. Nothing else about the person is stored.

Identifiers never reach a person: `label(kind, value)` gives the words for a status, a partner, a role...
(unknown values come back as they are, so a new enum value shows up, untranslated, rather than vanishing).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Re-exported: the pages mark their texts with `server.i18n.N_` and read the languages from here.
from records.texts import DEFAULT_LANGUAGE as DEFAULT_LANGUAGE
from records.texts import DOMAIN as DOMAIN
from records.texts import LANGUAGES as LANGUAGES
from records.texts import N_ as N_
from records.texts import po_path as po_path
from records.texts import translations as translations

COOKIE = "lang"
_ONE_YEAR = 365 * 24 * 3600

_language: ContextVar[str] = ContextVar("segel_language", default=DEFAULT_LANGUAGE)


def current_language() -> str:
    return _language.get()


def set_language(language: str) -> None:
    """For code outside a request (tests, the CLI) that wants one language."""
    _language.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Say everything inside in `language`, whoever reads the page: for papers that are Indonesian in any
    case (the Berita Acara), then back to the request's language."""
    token = _language.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _language.reset(token)


def gettext(message: str) -> str:
    """`message` (Indonesian) in the language of the current request."""
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translations(_language.get()).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).npgettext(context, singular, plural, n)


_ = gettext


#: kind -> identifier -> Indonesian words. Every enum a person may see (schemas/*.schema.json, the office's
#: own kinds); `label()` translates at the time of showing.
LABELS: dict[str, dict[str, str]] = {
    "doc_kind": {
        "ektp": N_("KTP-el"),
        "kia": N_("KIA"),
        "akta_kelahiran": N_("Akta kelahiran"),
        "kk": N_("Kartu Keluarga"),
        "surat_pindah": N_("Surat pindah"),
    },
    "handoff": {
        "sealed": N_("Disegel"),
        "picked_up": N_("Diambil kurir"),
        "delivered": N_("Diserahkan"),
        "failed_attempt": N_("Gagal antar"),
        "returned": N_("Dikembalikan ke kantor"),
        "lost": N_("Hilang"),
        "reprinted": N_("Dicetak ulang"),
    },
    "status": {
        "unsealed": N_("Belum disegel"),
        "registered": N_("Terdaftar"),
        "sealed": N_("Disegel, siap diambil"),
        "picked_up": N_("Dibawa kurir"),
        "delivered": N_("Diterima"),
        "failed_attempt": N_("Gagal antar"),
        "returned": N_("Dikembalikan ke kantor"),
        "lost": N_("Hilang"),
        "reprinted": N_("Dicetak ulang"),
    },
    "partner": {
        "gojek": N_("Gojek"),
        "grab": N_("Grab"),
        "pos_indonesia": N_("Pos Indonesia"),
        "maxim": N_("Maxim"),
        "office": N_("Kurir kantor"),
        #: A courier whose assignments name no partner (the dashboard's figures per partner).
        "other": N_("Mitra lain"),
    },
    "delivery": {
        "courier": N_("Diantar kurir"),
        "self_pickup": N_("Ambil sendiri di kantor"),
        "undecided": N_("Belum memilih"),
    },
    "party": {
        "office": N_("Kantor"),
        "courier": N_("Kurir"),
        "resident": N_("Pemilik dokumen"),
        "representative": N_("Perwakilan"),
    },
    "role": {
        "admin": N_("Admin"),
        "staff": N_("Petugas kantor"),
        "courier": N_("Kurir"),
        "van_operator": N_("Petugas mobil keliling"),
    },
    "seal_condition": {
        "intact": N_("utuh"),
        "damaged": N_("rusak"),
        "missing": N_("hilang"),
        "not_checked": N_("tidak diperiksa"),
    },
    "failure_reason": {
        "not_at_home": N_("Tidak di rumah"),
        "address_not_found": N_("Alamat tidak ditemukan"),
        "refused": N_("Ditolak penerima"),
        "damaged": N_("Dokumen/amplop rusak"),
        "other": N_("Lainnya"),
    },
    "complaint": {
        "seal_broken": N_("Segel rusak atau terbuka"),
        "not_received": N_("Belum menerima dokumen"),
        "wrong_document": N_("Dokumen salah"),
        "other": N_("Lainnya"),
    },
    "channel": {
        "resident_page": N_("Halaman penduduk"),
        "office_desk": N_("Meja layanan kantor"),
        "phone": N_("Telepon"),
    },
    "capture": {
        "captured": N_("Berhasil"),
        "failed": N_("Gagal"),
        "not_attempted": N_("Tidak dicoba"),
    },
    "outcome": {
        "recorded": N_("Perekaman berhasil"),
        "failed": N_("Gagal"),
        "revisit_needed": N_("Perlu kunjungan ulang"),
    },
    "reprint": {
        "requested": N_("diminta"),
        "done": N_("selesai"),
    },
    #: Why the gateway refused a pushed record (`Refusal.code`, sync/validation.py, sync/push.py,
    #: records/images.py), as the queue counts them in a user's hour of refusals.
    "refusal": {
        "invalid": N_("data tidak lengkap atau salah"),
        "invalid_id": N_("id catatan tidak sah"),
        "invalid_rev": N_("riwayat revisi tidak sah"),
        "projection": N_("salinan ringkas dari server"),
        "deleted": N_("catatan dihapus"),
        "removed": N_("catatan yang sudah dihapus"),
        "role": N_("peran tidak boleh menulis"),
        "author": N_("atas nama pengguna lain"),
        "office": N_("milik kantor lain"),
        "office_move": N_("dipindah kantor atau jenis"),
        "not_assigned": N_("bukan tugasnya"),
        "van": N_("milik mobil keliling lain"),
        "assignee": N_("penugasan tidak sah"),
        "append_only": N_("catatan yang tidak boleh diubah"),
        "replay": N_("nomor urut sudah dipakai"),
        "signature": N_("tanda tangan passkey tidak sah"),
        "no_document": N_("dokumennya tidak ada"),
        "link_office": N_("dokumen kantor lain"),
        "attachment": N_("lampiran tidak sah"),
        "attachment_type": N_("format foto salah"),
        "attachment_missing": N_("foto belum terkirim"),
        "attachment_size": N_("foto terlalu besar atau kosong"),
        "digest": N_("sidik foto tidak cocok"),
        "size_mismatch": N_("ukuran foto tidak cocok"),
        "image_type": N_("isi foto bukan gambar yang sah"),
        "image_too_large": N_("foto terlalu banyak piksel"),
    },
    #: A record's fields as the conflict page compares them side by side (schemas/*.schema.json).
    "record_field": {
        "type": N_("Jenis catatan"),
        "schema_version": N_("Versi skema"),
        "office": N_("Kantor"),
        "created_at": N_("Dibuat"),
        "author": N_("Penulis"),
        "doc_kind": N_("Jenis dokumen"),
        "resident": N_("Penduduk"),
        "assignment": N_("Penugasan"),
        "receipt_code": N_("Kode penerimaan"),
        "delivery": N_("Pengiriman"),
        "number": N_("Nomor segel"),
        "document_id": N_("Dokumen"),
        "bound_at": N_("Dipasang"),
        "kind": N_("Jenis"),
        "description": N_("Uraian"),
        "photo_attachment": N_("Foto"),
        "channel": N_("Saluran"),
    },
    "record_type": {
        "document": N_("Dokumen"),
        "seal": N_("Segel"),
        "handoff": N_("Serah terima"),
        "complaint": N_("Pengaduan"),
        "visit": N_("Perekaman"),
        "photo": N_("Foto"),
        "stop": N_("Jadwal mobil keliling"),
        "unknown": N_("Catatan tanpa id"),
    },
}


def label(kind: str, value: object) -> str:
    """The words for identifier `value` of `kind` (a key of LABELS) in the current language; the value
    itself when it has none (None shows as "-")."""
    if value is None or value == "":
        return "-"
    words = LABELS.get(kind, {}).get(str(value))
    return gettext(words) if words is not None else str(value)


def choices(kind: str) -> list[tuple[str, str]]:
    """(identifier, words) of every value of `kind`, for a dropdown."""
    return [(value, gettext(words)) for value, words in LABELS[kind].items()]


def switch_url(request: Request, language: str) -> str:
    """This page in `language`: its own address with `?lang=`, or, after a form was posted (an address a link
    cannot open), the page the form was on."""
    url = request.url
    if request.method not in ("GET", "HEAD"):
        referer = URL(request.headers.get("referer", "/"))
        url = referer if referer.netloc in ("", url.netloc) else URL("/")
    target = url.include_query_params(lang=language)
    return target.path + "?" + target.query  # relative: the link never leaves this site


def asked_language(scope: Scope) -> str | None:
    """The language the switch link asks for (`?lang=en`), if a known one."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    asked = str((query.get("lang") or [""])[0])
    return asked if asked in LANGUAGES else None


def language_of(scope: Scope) -> str:
    """`?lang=` first (the switch link), then the `lang` cookie, else Indonesian."""
    asked = asked_language(scope)
    if asked is not None:
        return asked
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:
                continue
            if COOKIE in cookie and cookie[COOKIE].value in LANGUAGES:
                return cookie[COOKIE].value
    return DEFAULT_LANGUAGE


def language_cookie(language: str, *, secure: bool) -> str:
    """The `Set-Cookie` value that remembers a language choice for a year, on every path.

    `Secure` over HTTPS, so the choice never travels in clear beside the session cookie; `SameSite=Lax`, so
    a link from another site still opens the page in the chosen language. Not `HttpOnly`: the PWA reads the
    same cookie from `document.cookie` (lib/i18n.js) so that the app and the pages speak one language, and a
    language is nothing a script could steal.
    """
    return f"{COOKIE}={language}; Path=/; Max-Age={_ONE_YEAR}; SameSite=Lax" + ("; Secure" if secure else "")


class LanguageMiddleware:
    """Sets the request's language; `?lang=xx` also remembers the choice in the `lang` cookie (the only
    thing stored: no account setting, no Accept-Language guess).

    `secure` is the deployment's own answer (`Settings.secure_cookies`: its origin is https, as behind a
    TLS-terminating proxy); a request that reached us over HTTPS gets a Secure cookie either way."""

    def __init__(self, app: ASGIApp, secure: bool = False) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        language = language_of(scope)
        token = _language.set(language)
        chosen = asked_language(scope) is not None

        async def send_with_cookie(message: Message) -> None:
            if chosen and message["type"] == "http.response.start":
                cookie = language_cookie(language, secure=self.secure or scope.get("scheme") == "https")
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        finally:
            _language.reset(token)


class Labels(dict[str, str]):
    """A table of identifier -> Indonesian words (marked with N_) that answers in the request's language, so
    the tables the pages already use (`kinds[d.doc_kind]`, `labels.items()`) need no change to translate."""

    def __getitem__(self, key: str) -> str:
        return gettext(super().__getitem__(key))

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self[key] if key in self else default  # noqa: SIM401 - self.get is this very method

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return [(key, gettext(value)) for key, value in super().items()]

    def values(self) -> list[str]:  # type: ignore[override]
        return [gettext(value) for value in super().values()]
