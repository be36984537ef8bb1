"""The kinds of exceptions the office follows up, their words, and the actions that close each one.

A table, so the queue (server/office/queue.py), its resolutions (server/office/exceptions.py) and the
pages that name a kind or an action (the timeline) all read the same words.
"""

from __future__ import annotations

from server.i18n import LABELS, N_

#: Kind -> (Indonesian label, allowed actions as (value, label)).
KINDS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    # A loss is one item, not the "seal not scanned" and "seal missing" its handoff also shows: what it
    # needs is the courier's liability and a reprint (exceptions.resolve_loss), never "contents checked".
    "lost": (
        N_("Dokumen hilang"),
        (
            ("lost_reprinted", N_("Catat tanggung jawab kurir dan cetak ulang dengan segel baru")),
            ("lost_liability", N_("Catat tanggung jawab kurir; cetak ulang nanti")),
        ),
    ),
    "seal_mismatch": (
        N_("Nomor segel tidak cocok"),
        (
            ("checked_ok", N_("Amplop diperiksa, isi benar")),
            ("resident_confirmed", N_("Penduduk mengonfirmasi terima")),
            ("reprint", N_("Batalkan dan cetak ulang")),
        ),
    ),
    "seal_unexpected": (
        N_("Segel bukan yang dipasang kantor"),
        (
            ("checked_ok", N_("Amplop diperiksa, isi benar")),
            ("resident_confirmed", N_("Penduduk mengonfirmasi terima")),
            ("reprint", N_("Batalkan dan cetak ulang")),
        ),
    ),
    "code_mismatch": (
        N_("Kode penerimaan tidak cocok"),
        (
            ("confirmed_by_phone", N_("Penduduk dihubungi: dokumen sudah diterima")),
            ("investigate", N_("Belum diterima: diselidiki bersama kurir")),
        ),
    ),
    "code_missing": (
        N_("Diserahkan tanpa kode penerimaan"),
        (
            ("confirmed_by_phone", N_("Penduduk dihubungi: dokumen sudah diterima")),
            ("investigate", N_("Belum diterima: diselidiki bersama kurir")),
        ),
    ),
    "seal_damaged": (
        N_("Segel rusak atau hilang"),
        (("checked_ok", N_("Amplop diperiksa, isi benar")), ("reprint", N_("Batalkan dan cetak ulang"))),
    ),
    "photo_missing": (
        N_("Foto segel tidak ada"),
        (
            ("accepted_without_photo", N_("Terima tanpa foto (beri alasan)")),
            ("asked_courier", N_("Kurir diminta mengirim foto")),
        ),
    ),
    "photo_not_arrived": (
        N_("Foto segel tidak pernah sampai"),
        (
            ("accepted_without_photo", N_("Terima tanpa foto (beri alasan)")),
            ("asked_courier", N_("Kurir diminta mengirim foto")),
        ),
    ),
    "photo_digest": (
        N_("Foto tidak sesuai sidiknya"),
        (
            ("photo_rejected", N_("Foto ditolak sebagai bukti")),
            ("asked_courier", N_("Kurir diminta menjelaskan")),
        ),
    ),
    "photo_unreadable": (
        N_("Foto tidak dapat dibuka"),
        (
            ("photo_rejected", N_("Foto ditolak sebagai bukti")),
            ("asked_courier", N_("Kurir diminta mengirim ulang")),
        ),
    ),
    "check_failed": (
        N_("Pemeriksaan otomatis gagal"),
        (("checked_ok", N_("Diperiksa manual, benar")), ("investigate", N_("Diselidiki"))),
    ),
    "photo_reused": (
        N_("Foto yang sama dipakai ulang"),
        (("courier_warned", N_("Kurir ditegur dan diperiksa")), ("false_alarm", N_("Bukan foto yang sama"))),
    ),
    "gps_far": (
        N_("Lokasi penyerahan jauh dari alamat"),
        (
            ("resident_confirmed", N_("Penduduk mengonfirmasi terima")),
            ("investigate", N_("Diselidiki bersama mitra")),
        ),
    ),
    "chain_broken": (
        N_("Rantai serah terima putus"),
        (("investigate", N_("Diselidiki")), ("explained", N_("Sudah dijelaskan"))),
    ),
    "unsigned": (
        N_("Serah terima tanpa tanda tangan"),
        (
            ("accepted_unsigned", N_("Diterima: alasan masuk akal")),
            ("investigate", N_("Diselidiki bersama kurir")),
        ),
    ),
    "signature_invalid": (
        N_("Tanda tangan tidak sah"),
        (("investigate", N_("Diselidiki")), ("explained", N_("Sudah dijelaskan"))),
    ),
    "refused": (N_("Catatan ditolak gateway"), (("explained", N_("Sudah ditindaklanjuti dengan pengirim")),)),
    "complaint": (
        N_("Pengaduan penduduk"),
        (("answered", N_("Sudah ditanggapi")), ("reprint", N_("Cetak ulang dan kirim lagi"))),
    ),
    "conflict": (N_("Konflik sinkronisasi"), ()),
}
#: The words for each kind and each action, for the pages that name them (the timeline, "more open for").
LABELS["exception"] = {kind: words for kind, (words, _actions) in KINDS.items()}
LABELS["settlement"] = {value: words for _words, actions in KINDS.values() for value, words in actions}
#: Kinds a record shows by itself (`reports/exceptions`), and kinds the background checks find
#: (`office/findings`).
RECORD_KINDS = (
    "lost",
    "seal_mismatch",
    "seal_damaged",
    "photo_missing",
    "unsigned",
    "complaint",
    "conflict",
    "refused",
)
FINDING_KINDS = (
    "code_mismatch",
    "code_missing",
    "seal_unexpected",
    "photo_not_arrived",
    "photo_digest",
    "photo_unreadable",
    "photo_reused",
    "gps_far",
    "chain_broken",
    "signature_invalid",
    "check_failed",
)
#: What a loss showed as before it was a kind of its own: a loss whose handoff had both of these resolved
#: was closed then and stays closed.
LOSS_FORMER_KINDS = ("seal_mismatch", "seal_damaged")
