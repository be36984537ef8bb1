"""What a finding of the office checks says, worded when it is shown, in the reader's language.

A `finding:` document is written once by `segel worker` (checks.py, awaited_photos.py) and never edited. It
keeps what was found as data: its `kind` and `detail_args` (numbers, seal numbers, record ids and the codes
of sub-reasons). The sentence is made here from the catalogue when a page shows it, so an English page reads
English and a reworded text reaches old findings too. Each finding also stores `detail`, the sentence in
Indonesian as it was worded when written: findings written before `detail_args` existed have only that,
and it is what they still show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from records.types import JSONDict
from server.i18n import LABELS, N_, current_language
from server.i18n import gettext as _
from server.office.delivery_checks import CODE_LABELS

#: kind -> the sentence, with `detail_args` named in it (after `_words` turned codes into words).
FINDING_TEXTS: dict[str, str] = {
    "check_failed": N_(
        "Pemeriksaan otomatis catatan ini gagal (%(error)s); periksa catatannya secara manual."
    ),
    "signature_invalid": N_("Tanda tangan passkey pada catatan ini tidak sah."),
    "photo_digest": N_(
        "Isi foto tidak sama dengan sidik (SHA-256) yang dicatat di ponsel: foto mungkin diganti."
    ),
    "photo_unreadable": N_("Foto tidak dapat dibuka sebagai bukti: %(problem)s; minta foto lagi dari kurir."),
    "photo_reused": N_("Foto segel yang sama sudah dipakai lebih dulu untuk dokumen lain (%(documents)s)."),
    "code_mismatch": N_("%(code)s: dokumen belum dihitung diterima sampai penduduk atau petugas memastikan."),
    "code_missing": N_(
        "Diserahkan tanpa kode penerimaan (mis. kepada perwakilan): pastikan dengan penduduk."
    ),
    "seal_unexpected": N_(
        "Ponsel mencatat segel %(scanned)s sebagai cocok, tetapi kantor memasang segel %(expected)s."
    ),
    "gps_far": N_("Penyerahan dicatat %(km)s km dari alamat penduduk (batas %(limit_m)s m)."),
    "chain_broken": N_("Rantai serah terima putus: %(reason)s."),
    "photo_not_arrived": N_(
        "%(photos)s foto segel dari %(author)s belum sampai di server %(hours)s jam setelah serah terimanya: "
        "minta kurir membuka aplikasi saat ada sinyal, atau terima tanpa foto dengan alasan."
    ),
}

#: Why a custody link does not hold (`chain_links.broken_link`), by its code.
CHAIN_REASONS: dict[str, str] = {
    "not_canonical": N_("catatan ini tidak dapat di-hash (%(error)s)"),
    "first_not_sealed": N_("serah terima pertama harus %(sealed)s, bukan %(kind)s"),
    "no_predecessor": N_(
        "hash serah terima sebelumnya tidak cocok dengan serah terima mana pun sebelum ini: serah terima itu "
        "diubah, atau ada yang dihapus atau disisipkan di antaranya"
    ),
    "second_start": N_("dokumen sudah disegel oleh %(first)s: ini awal rantai yang kedua"),
    "fork": N_("%(first)s sudah mengikuti serah terima yang sama: rantai bercabang di sini"),
}

#: Why a photo cannot be opened (`records.images.ImageError.code`).
IMAGE_PROBLEMS: dict[str, str] = {
    "image_type": N_("isinya bukan foto JPEG atau WebP yang utuh"),
    "image_too_large": N_("gambarnya %(width)sx%(height)s piksel, lebih besar dari batas"),
}

Translate = Callable[[str], str]


def _indonesian(message: str) -> str:
    return message


def _number(value: float, digits: int, translate: Translate) -> str:
    """A number with the reader's decimal mark: "1,2" in Indonesian, "1.2" in English."""
    text = f"{value:.{digits}f}"
    return text if translate is not _indonesian and current_language() == "en" else text.replace(".", ",")


def _words(kind: str, args: Mapping[str, object], translate: Translate) -> dict[str, object]:
    """The arguments as words: codes by their labels, numbers with the reader's decimal mark."""
    words: dict[str, object] = {name: ("-" if value in (None, "") else value) for name, value in args.items()}
    if kind == "code_mismatch":
        words["code"] = translate(dict.get(CODE_LABELS, str(args.get("code")), str(args.get("code"))))
    elif kind == "gps_far":
        words["km"] = _number(float(str(args["distance_m"])) / 1000, 1, translate)
    elif kind == "photo_unreadable":
        problem = str(args.get("problem"))
        words["problem"] = (
            translate(IMAGE_PROBLEMS[problem]) % words if problem in IMAGE_PROBLEMS else problem
        )
    elif kind == "photo_not_arrived" and not args.get("author"):
        words["author"] = translate(N_("pencatat"))
    elif kind == "chain_broken":
        reason = str(args.get("reason"))
        handoffs = LABELS["handoff"]
        kind_code = str(args.get("kind"))
        inner = {
            **words,
            "sealed": translate(handoffs["sealed"]),
            "kind": translate(handoffs[kind_code]) if kind_code in handoffs else kind_code,
        }
        words["reason"] = translate(CHAIN_REASONS[reason]) % inner if reason in CHAIN_REASONS else reason
    return words


def word_finding(kind: str, args: Mapping[str, object], translate: Translate = _indonesian) -> str:
    """The sentence of a finding of `kind` with `args`; in Indonesian unless another `translate` is given."""
    return translate(FINDING_TEXTS[kind]) % _words(kind, args, translate)


def finding_text(finding: JSONDict) -> str:
    """What a finding says, in the language of the current request (its stored `detail` when it was written
    before findings kept their arguments, or is of a kind this version does not know)."""
    kind, args = str(finding.get("kind")), finding.get("detail_args")
    if kind in FINDING_TEXTS and isinstance(args, dict):
        try:
            return word_finding(kind, args, _)
        except (KeyError, TypeError, ValueError):
            pass  # arguments this version cannot word: the stored sentence is still true
    return str(finding.get("detail") or "")
